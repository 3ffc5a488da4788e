// Named families of convolutional networks that `train --arch` builds, as researchers write them in PyTorch
// (their tensor names are those modules' state_dict names, so a file loads into the PyTorch model and back):
//   vgg:W1,W2,...         per width a stage conv3×3 (no bias) → BatchNorm → ReLU → max-pool 2×2, then
//                         flatten → linear (a VGG with BatchNorm, one convolution per stage)
//   resnet:W1,W2,...[:B]  a CIFAR ResNet: stem conv3×3 → BatchNorm → ReLU, then per width a stage of B basic
//                         blocks (default 1; the first of each later stage strides 2, with a 1×1 projection
//                         shortcut where the shape changes), global average pooling → linear
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modeconn/graph.hpp"

namespace modeconn {

// Whether `spec` names a family (vgg:..., resnet:...) rather than a graph file.
bool is_graph_family(const std::string& spec);

// The family's graph for samples of `input_shape` ([C, H, W]) and `outputs` classes or targets; a usage error
// naming --arch for a malformed spec or flat data.
Graph graph_family(const std::string& spec, const std::vector<int64_t>& input_shape, int64_t outputs);

}  // namespace modeconn
