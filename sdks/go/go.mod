module github.com/triggers-api/triggers-api/sdks/go

go 1.23

require github.com/standard-webhooks/standard-webhooks/libraries v0.0.1
