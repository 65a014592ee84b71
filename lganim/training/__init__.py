"""Training the paper's motion generator (`train(TrainConfig)`, one process or torchrun/DDP) and the paper's
metrics (`eval`). Never imported by the app or by the library's request path."""
