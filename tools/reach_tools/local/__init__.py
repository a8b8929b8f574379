"""Reach on one laptop, no AWS account: moto as the embedded AWS, the real functions behind a
local HTTP front that plays API Gateway (``reach-local demo`` and ``reach-local serve``)."""
