"""production-fastapi templates: copy the modules you need into your application package.

The modules import each other relatively (``from .settings import Settings``), so keep them together in one package
(for example ``app/``) or adjust those imports when you copy a single file.
"""
