module github.com/triggers-api/triggers-api/examples/go

go 1.23

require github.com/triggers-api/triggers-api/sdks/go v0.1.0

replace github.com/triggers-api/triggers-api/sdks/go => ../../sdks/go
