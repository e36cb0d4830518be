"""Test accuracy of an nmt AttentionNet model directory, computed by PyTorch: the weights loaded
into the reference network (strict load_state_dict), Fashion-MNIST's 10,000 test images normalised
with the model's config.json, eval mode. A check that a model trained by nmt is a PyTorch model.

Usage: python attentionnet_torch_accuracy.py MODEL_DIR [DATA_DIR]   (DATA_DIR: the four .gz files)
"""
import gzip, os, sys
import numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attentionnet_parity import load_model, normalized

model_dir = sys.argv[1]
data = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist"
torch.set_num_threads(1)
images = np.frombuffer(gzip.open(f"{data}/t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
labels = torch.tensor(np.frombuffer(gzip.open(f"{data}/t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8).astype(np.int64))
model, config = load_model(model_dir)
model.eval()
correct = 0
with torch.no_grad():
    for i in range(0, len(labels), 500):
        correct += (model(normalized(images[i:i + 500], config)).argmax(1) == labels[i:i + 500]).sum().item()
print(f"PyTorch test accuracy of {model_dir}: {correct / len(labels):.4f} ({correct}/{len(labels)})")
