"""Runs an nmt AttentionNet model directory through PyTorch, for AttentionNetParityTests.

Builds the network of ../shared/bench/attentionnet_ref.py (same module names, so the state dict's
keys are the reference's), loads MODEL_DIR/model.safetensors with load_state_dict(strict=True),
normalises the raw pixels with MODEL_DIR/config.json, and writes OUT (safetensors):
  eval.logits (N, 10) and eval.attention (N, 49, 49)  in eval mode (running statistics);
  train.loss (1), grad.<name> for every parameter, and <bn>.running_mean / running_var after one
  training-mode forward and backward of cross_entropy(logits, labels).

Usage: python attentionnet_parity.py MODEL_DIR PIXELS LABELS OUT
  PIXELS: N*28*28 raw bytes; LABELS: N raw bytes.
The network and the loader are importable (attentionnet_torch_accuracy.py uses them).
"""
import json, sys
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import load_file, save_file

class ConvBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.conv = nn.Conv2d(i, o, 3, padding=1)
        self.bn = nn.BatchNorm2d(o)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class ResBlock(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(i, o, 3, stride, 1), nn.BatchNorm2d(o)
        self.conv2, self.bn2 = nn.Conv2d(o, o, 3, 1, 1), nn.BatchNorm2d(o)
        self.short = nn.Sequential(nn.Conv2d(i, o, 1, stride), nn.BatchNorm2d(o))

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + self.short(x))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.q, self.k, self.v = nn.Conv2d(c, c // 8, 1), nn.Conv2d(c, c // 8, 1), nn.Conv2d(c, c, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.last = None

    def forward(self, x):
        b, c, h, w = x.shape
        q = self.q(x).view(b, -1, h * w).permute(0, 2, 1)
        att = F.softmax(torch.bmm(q, self.k(x).view(b, -1, h * w)), dim=-1)
        self.last = att
        return self.gamma * torch.bmm(self.v(x).view(b, -1, h * w), att.permute(0, 2, 1)).view(b, c, h, w) + x


class AttentionNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1, self.res1, self.res2 = ConvBlock(1, 64), ResBlock(64, 128, 2), ResBlock(128, 256, 2)
        self.attention, self.fc = SelfAttention(256), nn.Linear(256, classes)

    def forward(self, x):
        return self.fc(self.attention(self.res2(self.res1(self.conv1(x)))).mean((2, 3)))


def load_model(model_dir):
    """The reference network with MODEL_DIR's weights (strict), and its config."""
    config = json.load(open(f"{model_dir}/config.json"))
    model = AttentionNet(len(config["class_names"]))
    state = {k: v.float() for k, v in load_file(f"{model_dir}/model.safetensors").items()}
    model.load_state_dict(state, strict=True)
    return model, config


def normalized(raw, config):
    norm = config["normalization"]
    return (torch.tensor(raw, dtype=torch.float32) / 255 - norm["mean"]) / norm["std"]


def main():
    model_dir, pixels_path, labels_path, out_path = sys.argv[1:5]
    torch.set_num_threads(1)
    model, config = load_model(model_dir)
    raw = np.fromfile(pixels_path, np.uint8).reshape(-1, 1, 28, 28)
    labels = torch.tensor(np.fromfile(labels_path, np.uint8).astype(np.int64))
    x = normalized(raw, config)

    out = {}
    model.eval()
    with torch.no_grad():
        out["eval.logits"] = model(x)
        out["eval.attention"] = model.attention.last.clone()
    model.train()
    loss = F.cross_entropy(model(x), labels)
    loss.backward()
    out["train.loss"] = loss.detach().reshape(1)
    for name, p in model.named_parameters():
        out[f"grad.{name}"] = p.grad
    for name, b in model.named_buffers():
        if not name.endswith("num_batches_tracked"):
            out[name] = b
    save_file({k: v.contiguous() for k, v in out.items()}, out_path)


if __name__ == "__main__":
    main()
