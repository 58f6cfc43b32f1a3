"""The reviewer: check FastAPI code against the production rules.

```python
from production_fastapi.review import review_source, review_paths
findings = review_source(source, filename="app/main.py")   # -> list[Finding]
report = review_paths([Path("app")])                         # -> Report(findings, files_checked, errors)
```
"""

from __future__ import annotations

from production_fastapi.review.api import fix_source, review_paths, review_source
from production_fastapi.review.config import Config, ConfigError
from production_fastapi.review.findings import Finding, Report

__all__ = ["Config", "ConfigError", "Finding", "Report", "fix_source", "review_paths", "review_source"]
