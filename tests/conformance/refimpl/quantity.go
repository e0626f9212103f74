// The "quantity" op: resource.ParseQuantity, its exact value, canonical text,
// and its order against other quantities.
package main

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/resource"
)

type quantityRequest struct {
	Quantity string   `json:"quantity"`
	Compare  []string `json:"compare"` // each parsed too; Cmp result, or null if it does not parse
}

func runQuantity(raw json.RawMessage) any {
	var req quantityRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return map[string]any{"error": err.Error()}
	}
	q, err := resource.ParseQuantity(req.Quantity)
	if err != nil {
		return map[string]any{"ok": false, "reason": err.Error()}
	}
	cmp := []any{}
	for _, other := range req.Compare {
		o, err := resource.ParseQuantity(other)
		if err != nil {
			cmp = append(cmp, nil)
			continue
		}
		cmp = append(cmp, q.Cmp(o))
	}
	return map[string]any{
		"ok": true, "string": q.String(), "exact": q.AsDec().String(), "compare": cmp,
	}
}

func init() { ops["quantity"] = runQuantity }
