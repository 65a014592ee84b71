"""The networks as pure `nn.Module`s — StyleGAN2 (the fp32 reference and the fast batched renderer), the paper's
recurrent motion generator, the CLIP wrapper, the e4e photo encoder and the IR-SE50 (ArcFace) body. No file I/O
here: `lganim.weights` reads the files into these modules. Nothing is imported by this package's `__init__`."""
