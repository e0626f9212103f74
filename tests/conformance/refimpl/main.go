// Command refimpl answers conformance questions with the reference implementations
// (robfig/cron as CronJob uses it, apimachinery labels/fields/resource, client-go
// JSONPath, time.ParseDuration). It reads one JSON object per line on stdin,
// {"op": "<name>", ...fields}, and writes exactly one JSON line per input line on
// stdout, in order, flushed after each, so a Python test session can keep it
// running as one long-lived subprocess.
//
// Each op lives in its own file and registers itself in ops from an init function.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// ops maps an op name to its handler; the handler gets the whole request line.
var ops = map[string]func(json.RawMessage) any{}

type request struct {
	Op string `json:"op"`
}

// answer runs one request line; a panic inside a handler becomes an error answer,
// so one bad case never stops the session.
func answer(line []byte) (out any) {
	defer func() {
		if r := recover(); r != nil {
			out = map[string]any{"error": fmt.Sprintf("panic: %v", r)}
		}
	}()
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return map[string]any{"error": "bad request: " + err.Error()}
	}
	handler, ok := ops[req.Op]
	if !ok {
		return map[string]any{"error": "unknown op"}
	}
	return handler(json.RawMessage(line))
}

func main() {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			encoded, encErr := json.Marshal(answer(line))
			if encErr != nil {
				encoded, _ = json.Marshal(map[string]any{"error": "encode: " + encErr.Error()})
			}
			out.Write(encoded)
			out.WriteByte('\n')
			out.Flush()
		}
		if err != nil {
			return
		}
	}
}
