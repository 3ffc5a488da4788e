"""The torch.fx half of export_torch.py: a module traced into modeconn's layer graph (DESIGN: "Networks beyond
MLPs"). Imported by export_torch.py when --model is given; not run on its own."""
import importlib.util
import json
import operator
import os
import re

ACTIVATION_MODULES = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "GELU": "gelu", "Softplus": "softplus",
                      "LeakyReLU": "leaky_relu"}


class Unsupported(Exception):
    pass


def load_class(spec, fail):
    """FILE.py:CLASS -> the class."""
    if ":" not in spec:
        fail(f"--model {spec}: expected FILE.py:CLASS")
    path, name = spec.rsplit(":", 1)
    if not os.path.isfile(path):
        fail(f"--model {spec}: {path}: no such file")
    module_spec = importlib.util.spec_from_file_location("modeconn_user_model", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:
        fail(f"{path}: cannot be imported ({type(e).__name__}: {e})")
    if not hasattr(module, name):
        fail(f"--model {spec}: {path} defines no {name}")
    return getattr(module, name), path


def build(cls, args_json, fail):
    try:
        args = json.loads(args_json) if args_json else []
    except json.JSONDecodeError as e:
        fail(f"--args: not JSON ({e})")
    try:
        if isinstance(args, dict):
            return cls(**args)
        if isinstance(args, list):
            return cls(*args)
        return cls(args)
    except Exception as e:
        fail(f"--args: {cls.__name__}({args_json or ''}) failed ({type(e).__name__}: {e})")


def user_line(node, model_path):
    """'file.py:LINE' of the user's model code that made this fx node, when the trace recorded it."""
    trace = getattr(node, "stack_trace", None) or ""
    found = None
    for m in re.finditer(r'File "([^"]+)", line (\d+)', trace):
        if os.path.abspath(m.group(1)) == os.path.abspath(model_path):
            found = f"{os.path.basename(model_path)}:{m.group(2)}"
    return found


def pair(v):
    return [int(v[0]), int(v[1])] if isinstance(v, (tuple, list)) else [int(v), int(v)]


def trace_graph(model, input_shape, model_path, state_dict):
    """Returns (graph JSON object, ordered list of tensor names) for a module in eval mode."""
    import torch
    import torch.nn.functional as F

    tracer = torch.fx.Tracer()
    tracer.record_stack_traces = True
    fx_graph = tracer.trace(model)
    modules = dict(model.named_modules())
    nodes = [{"name": "input", "op": "input", "shape": list(input_shape)}]
    tensors = []
    ours = {}  # fx node -> our node name (or the name of the node it passes through)
    sizes = set()  # fx nodes that are x.size(...) results, only good for view(x.size(0), -1)

    def where(node):
        line = user_line(node, model_path)
        return f" at {line}" if line else ""

    def add(node, op, inputs, **attrs):
        name = node.name  # unique in the traced graph, even when a module (self.relu) is called twice
        entry = {"name": name, "op": op, "inputs": [ours[i] for i in inputs]}
        entry.update(attrs)
        nodes.append(entry)
        ours[node] = name
        return entry

    def param_tensors(prefix, module, roles):
        t = {}
        for role in roles:
            key = f"{prefix}.{role}" if prefix else role
            if key not in state_dict:
                raise Unsupported(f"tensor '{key}' is not in the checkpoint")
            t[role] = key
            tensors.append(key)
        return t

    def activation(node, name, inputs):
        add(node, "activation", inputs, activation=name)

    def fx_input(arg, node):
        if not isinstance(arg, torch.fx.Node) or arg not in ours:
            raise Unsupported(f"'{node.name}'{where(node)} takes an input modeconn cannot follow")
        return arg

    output = None
    for node in fx_graph.nodes:
        if node.op == "placeholder":
            if "input" in ours.values():
                raise Unsupported(f"the model takes more than one input ({node.name})")
            ours[node] = "input"
        elif node.op == "get_attr":
            raise Unsupported(f"'{node.target}'{where(node)} reads a tensor attribute directly")
        elif node.op == "call_module":
            m = modules[node.target]
            kind = type(m).__name__
            x = fx_input(node.args[0], node)
            if isinstance(m, torch.nn.Linear):
                roles = ["weight", "bias"] if m.bias is not None else ["weight"]
                add(node, "linear", [x], out_features=m.out_features, bias=m.bias is not None,
                    tensors=param_tensors(node.target, m, roles))
            elif isinstance(m, torch.nn.Conv2d):
                if m.groups != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
                    raise Unsupported(f"{kind} '{node.target}'{where(node)}: groups, padding modes and string "
                                      "padding are not supported")
                roles = ["weight", "bias"] if m.bias is not None else ["weight"]
                add(node, "conv2d", [x], out_channels=m.out_channels, kernel=pair(m.kernel_size),
                    stride=pair(m.stride), padding=pair(m.padding), dilation=pair(m.dilation),
                    bias=m.bias is not None, tensors=param_tensors(node.target, m, roles))
            elif isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)):
                if not m.track_running_stats:
                    raise Unsupported(f"{kind} '{node.target}'{where(node)} keeps no running statistics")
                roles = (["weight", "bias"] if m.affine else []) + ["running_mean", "running_var"]
                add(node, "batch_norm", [x], eps=float(m.eps), affine=bool(m.affine),
                    tensors=param_tensors(node.target, m, roles))
            elif kind in ACTIVATION_MODULES:
                if kind == "LeakyReLU" and m.negative_slope != 0.01:
                    raise Unsupported(f"LeakyReLU '{node.target}'{where(node)}: slope {m.negative_slope}, "
                                      "modeconn's is 0.01")
                if kind == "GELU" and getattr(m, "approximate", "none") != "none":
                    raise Unsupported(f"GELU '{node.target}'{where(node)}: the tanh approximation")
                if kind == "Softplus" and (m.beta != 1):
                    raise Unsupported(f"Softplus '{node.target}'{where(node)}: beta {m.beta}")
                activation(node, ACTIVATION_MODULES[kind], [x])
            elif isinstance(m, (torch.nn.Identity, torch.nn.Dropout)):
                ours[node] = ours[x]  # nothing at evaluation
            elif isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
                if m.ceil_mode or (isinstance(m, torch.nn.MaxPool2d) and pair(m.dilation) != [1, 1]):
                    raise Unsupported(f"{kind} '{node.target}'{where(node)}: ceil_mode or dilation")
                if isinstance(m, torch.nn.AvgPool2d) and (not m.count_include_pad or m.divisor_override):
                    raise Unsupported(f"{kind} '{node.target}'{where(node)}: count_include_pad=False or a divisor")
                stride = m.stride if m.stride is not None else m.kernel_size
                add(node, "max_pool2d" if isinstance(m, torch.nn.MaxPool2d) else "avg_pool2d", [x],
                    kernel=pair(m.kernel_size), stride=pair(stride), padding=pair(m.padding))
            elif isinstance(m, torch.nn.AdaptiveAvgPool2d):
                if pair(m.output_size) != [1, 1]:
                    raise Unsupported(f"{kind} '{node.target}'{where(node)}: output size {m.output_size}, not 1")
                add(node, "global_avg_pool", [x])
            elif isinstance(m, torch.nn.Flatten):
                if m.start_dim != 1 or m.end_dim != -1:
                    raise Unsupported(f"Flatten '{node.target}'{where(node)}: dims {m.start_dim}..{m.end_dim}")
                add(node, "flatten", [x])
            else:
                raise Unsupported(f"module {kind} ('{node.target}'{where(node)})")
        elif node.op in ("call_function", "call_method"):
            f = node.target
            name = f if isinstance(f, str) else getattr(f, "__name__", str(f))
            args = list(node.args)
            kwargs = dict(node.kwargs)
            if node.op == "call_method" and f == "size":
                sizes.add(node)
                continue
            if f in (operator.add, operator.iadd, torch.add) or (node.op == "call_method" and f in ("add", "add_")):
                if len(args) != 2 or kwargs:
                    raise Unsupported(f"'{node.name}'{where(node)}: an add modeconn cannot follow")
                add(node, "add", [fx_input(args[0], node), fx_input(args[1], node)])
            elif f in (F.relu, torch.relu) or (node.op == "call_method" and f in ("relu", "relu_")):
                activation(node, "relu", [fx_input(args[0], node)])
            elif f in (torch.tanh, F.tanh) or (node.op == "call_method" and f == "tanh"):
                activation(node, "tanh", [fx_input(args[0], node)])
            elif f in (torch.sigmoid, F.sigmoid) or (node.op == "call_method" and f == "sigmoid"):
                activation(node, "sigmoid", [fx_input(args[0], node)])
            elif f is F.gelu and kwargs.get("approximate", "none") == "none":
                activation(node, "gelu", [fx_input(args[0], node)])
            elif f in (F.max_pool2d, F.avg_pool2d):
                kernel = args[1] if len(args) > 1 else kwargs.get("kernel_size")
                stride = args[2] if len(args) > 2 else kwargs.get("stride")
                padding = args[3] if len(args) > 3 else kwargs.get("padding", 0)
                extra = [k for k in kwargs if k not in ("kernel_size", "stride", "padding")]
                if extra or len(args) > 4:
                    raise Unsupported(f"{name}{where(node)}: arguments beyond kernel, stride and padding")
                add(node, "max_pool2d" if f is F.max_pool2d else "avg_pool2d", [fx_input(args[0], node)],
                    kernel=pair(kernel), stride=pair(stride if stride else kernel), padding=pair(padding))
            elif f is F.adaptive_avg_pool2d:
                size = args[1] if len(args) > 1 else kwargs.get("output_size")
                if pair(size) != [1, 1]:
                    raise Unsupported(f"adaptive_avg_pool2d{where(node)}: output size {size}, not 1")
                add(node, "global_avg_pool", [fx_input(args[0], node)])
            elif f is torch.flatten or (node.op == "call_method" and f == "flatten"):
                start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
                if start != 1 or (len(args) > 2 and args[2] != -1):
                    raise Unsupported(f"flatten{where(node)}: from dimension {start}; modeconn flattens from 1")
                add(node, "flatten", [fx_input(args[0], node)])
            elif node.op == "call_method" and f in ("view", "reshape"):
                shape = args[1:]
                if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
                    shape = list(shape[0])
                if len(shape) == 2 and shape[1] == -1 and (shape[0] in sizes or shape[0] == -1):
                    add(node, "flatten", [fx_input(args[0], node)])
                else:
                    raise Unsupported(f"{f}{where(node)}: only x.{f}(x.size(0), -1) is supported")
            else:
                raise Unsupported(f"function {name}{where(node)}")
        elif node.op == "output":
            output = fx_input(node.args[0], node)
    if output is None:
        raise Unsupported("the model returns nothing modeconn can follow")
    if ours[output] != nodes[-1]["name"]:
        raise Unsupported("the model's output is not its last operation")
    return {"nodes": nodes}, tensors
