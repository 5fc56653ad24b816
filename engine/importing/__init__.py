"""Model import: existing PyTorch modules, torch.export programs and ONNX files as editable networks.

`engine.importing.sources.import_source` is the entry point (the CLI and the
studio call it); `importer.import_module` imports a live `nn.Module`. The result
is a network whose blocks follow the source's module tree, checked against the
source, with an `ImportReport` saying what was mapped and what could not be.
"""
