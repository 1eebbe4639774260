"""zoo_core: interfaces, plugin registry, weights, inference and training. The public face is `import zoo`."""
__version__ = "0.1.0"
