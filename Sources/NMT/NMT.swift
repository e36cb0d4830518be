import Tensor
import Tokenizers
