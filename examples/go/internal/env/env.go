// Package env reads the examples' settings: TRIGGERS_API_URL (default http://127.0.0.1:8000)
// and TRIGGERS_API_KEY (default: the secret in .run/dev-key.json that `make run` writes, looked
// for in the current directory and its parents).
package env

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	triggers "github.com/triggers-api/triggers-api/sdks/go"
)

// Client makes an SDK client from the environment.
func Client() (*triggers.Client, error) {
	url := os.Getenv("TRIGGERS_API_URL")
	if url == "" {
		url = triggers.DefaultBaseURL
	}
	key := os.Getenv("TRIGGERS_API_KEY")
	if key == "" {
		var err error
		if key, err = devKey(); err != nil {
			return nil, err
		}
	}
	return triggers.NewClient(key, triggers.WithBaseURL(url), triggers.WithUserAgent("triggers-go-examples/0.1.0"))
}

func devKey() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, ".run", "dev-key.json"))
		if err == nil {
			var key struct {
				Secret string `json:"secret"`
			}
			if err := json.Unmarshal(data, &key); err != nil || key.Secret == "" {
				return "", errors.New(".run/dev-key.json has no secret: restart `make run`")
			}
			return key.Secret, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no TRIGGERS_API_KEY and no .run/dev-key.json: run `make run` (it writes the dev key) or set TRIGGERS_API_KEY")
		}
		dir = parent
	}
}
