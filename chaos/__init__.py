"""The chaos suite: named experiments that put DynamoDB and network faults on the local stack
(Toxiproxy, LocalStack or the local stage's fault hook) and check what held. See chaos/README.md."""
