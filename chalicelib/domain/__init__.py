"""Pure domain logic: no I/O, no AWS, no Chalice. Everything here is unit-tested and benchmarked."""
