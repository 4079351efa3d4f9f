"""The names of PyG's modules that the shim looks for or changes: strings
only, so that finding them costs no import."""

PACKAGE = "torch_geometric"
TEMPLATE = "torch_geometric.template"
MESSAGE_PASSING = "torch_geometric.nn.conv.message_passing"
SEQUENTIAL = "torch_geometric.nn.sequential"
INSPECTOR = "torch_geometric.inspector"
