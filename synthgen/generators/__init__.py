"""Built-in generators.  Each module holds pure JAX functions and one thin class."""
