"""Built-in generators.  Each module holds pure JAX functions and one thin class.

Importing the package turns on JAX's persistent compilation cache (see
``synthgen._compile_cache``) before any generator compiles a program.
"""

from .._compile_cache import enable as _enable_compile_cache

_enable_compile_cache()
