"""LocalStack's DynamoDB error injection, switched at run time through its config endpoint
(LocalStack started with ``ENABLE_CONFIG_UPDATES=1``)."""

from __future__ import annotations

import requests

# LocalStack answers a share of DynamoDB requests with ProvisionedThroughputExceededException.
ERROR_PROBABILITY = "DYNAMODB_ERROR_PROBABILITY"


def set_config(endpoint: str, variable: str, value: object) -> None:
    answer = requests.post(
        endpoint.rstrip("/") + "/_localstack/config",
        json={"variable": variable, "value": value},
        timeout=10,
    )
    if answer.status_code != 200:
        raise RuntimeError(
            f"LocalStack refused {variable}={value!r} ({answer.status_code}: {answer.text[:200]}); "
            "start it with ENABLE_CONFIG_UPDATES=1"
        )


def set_error_probability(endpoint: str, probability: float) -> None:
    set_config(endpoint, ERROR_PROBABILITY, probability)
