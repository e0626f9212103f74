// The "duration" op: time.ParseDuration, in nanoseconds.
package main

import (
	"encoding/json"
	"time"
)

type durationRequest struct {
	Duration string `json:"duration"`
}

func runDuration(raw json.RawMessage) any {
	var req durationRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return map[string]any{"error": err.Error()}
	}
	d, err := time.ParseDuration(req.Duration)
	if err != nil {
		return map[string]any{"ok": false, "reason": err.Error()}
	}
	return map[string]any{"ok": true, "nanoseconds": int64(d)}
}

func init() { ops["duration"] = runDuration }
