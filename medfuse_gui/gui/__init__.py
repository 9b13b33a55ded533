"""The Qt layer: listens to the Qt-free core's results and writes user intent back. Only this package imports Qt."""
