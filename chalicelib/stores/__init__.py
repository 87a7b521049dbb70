"""DynamoDB adapters, one module per table. Services never see botocore errors: each store
translates them into :mod:`chalicelib.stores.errors`."""
