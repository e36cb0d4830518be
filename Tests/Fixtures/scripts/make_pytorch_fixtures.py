"""Writes Tests/Fixtures/pytorch: small torch.save checkpoints for PyTorchCheckpointTests, and
archives that must be refused.

- checkpoint.bin: torch.save of an OrderedDict holding every dtype nmt reads (F32, F16, BF16, F64,
  I64, I32), views with strides and storage offsets (a transpose, a slice), two tensors sharing
  one storage, a scalar and an empty tensor; expected.safetensors: the same tensors, contiguous,
  written by safetensors.
- foreign-global.bin: a zip whose data.pkl calls os.system (the reason a restricted unpickler exists).
- unexpected-opcode.bin: a data.pkl with EMPTY_LIST, an opcode no state dict uses.
- missing-storage.bin: checkpoint.bin without its data/0 entry.
- compressed.bin: checkpoint.bin with its entries deflated.

Usage: python make_pytorch_fixtures.py  (from Tests/Fixtures; needs torch and safetensors)
"""
import collections, os, zipfile

import torch
from safetensors.torch import save_file

os.makedirs("pytorch", exist_ok=True)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
shared = torch.linspace(-1, 1, 10)
tensors = collections.OrderedDict([
    ("f32", base.clone()),
    ("f32_transposed", base.t()),              # strides (1, 6)
    ("f32_slice", base[1:3, 2:5]),             # storage offset 8, strides (6, 1)
    ("f16", (base * 3 - 20).half()),
    ("bf16", (base - 1.3).bfloat16()),
    ("f64", base.double() / 3),
    ("i64", torch.arange(-5, 7).reshape(3, 4)),
    ("i32", torch.arange(100000, 100006, dtype=torch.int32)),
    ("tied_a", shared),
    ("tied_b", shared),                        # the same storage, as tied embeddings are
    ("tied_view", shared[2:5]),                # a view of it with an offset
    ("scalar", torch.tensor(2.5)),
    ("empty", torch.zeros(0, 3)),
])
assert not tensors["f32_transposed"].is_contiguous() and tensors["f32_slice"].storage_offset() == 8
torch.save(tensors, "pytorch/checkpoint.bin")
save_file({name: tensor.contiguous().clone() for name, tensor in tensors.items()}, "pytorch/expected.safetensors")


def rewrite(target, keep=lambda name: True, replace={}, compression=zipfile.ZIP_STORED):
    """checkpoint.bin copied entry by entry into `target`, some dropped or replaced."""
    with zipfile.ZipFile("pytorch/checkpoint.bin") as source, zipfile.ZipFile(target, "w", compression) as out:
        for info in source.infolist():
            if keep(info.filename):
                out.writestr(info.filename, replace.get(info.filename.split("/", 1)[1], source.read(info.filename)))


rewrite("pytorch/missing-storage.bin", keep=lambda name: not name.endswith("/data/0"))
rewrite("pytorch/compressed.bin", compression=zipfile.ZIP_DEFLATED)
# pickle protocol 2: os.system("echo pwned"), which torch.load (without weights_only) would run.
rewrite("pytorch/foreign-global.bin", replace={"data.pkl": b"\x80\x02cos\nsystem\nq\x00X\n\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."})
rewrite("pytorch/unexpected-opcode.bin", replace={"data.pkl": b"\x80\x02]q\x00."})
