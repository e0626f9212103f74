// The "labelselector" and "fieldselector" ops: selectors as the API server parses
// them from ?labelSelector= and ?fieldSelector= (apimachinery labels.Parse and
// fields.ParseSelector), their canonical text, and what they match.
package main

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

type selectorRequest struct {
	Selector string              `json:"selector"`
	Sets     []map[string]string `json:"sets"` // label sets or field sets to match
}

func runLabelSelector(raw json.RawMessage) any {
	var req selectorRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return map[string]any{"error": err.Error()}
	}
	sel, err := labels.Parse(req.Selector)
	if err != nil {
		return map[string]any{"ok": false, "reason": err.Error()}
	}
	reqs, _ := sel.Requirements()
	terms := []map[string]any{}
	for _, r := range reqs {
		terms = append(terms, map[string]any{
			"key": r.Key(), "op": string(r.Operator()), "values": r.ValuesUnsorted(),
		})
	}
	matches := []bool{}
	for _, set := range req.Sets {
		matches = append(matches, sel.Matches(labels.Set(set)))
	}
	return map[string]any{"ok": true, "string": sel.String(), "requirements": terms, "matches": matches}
}

func runFieldSelector(raw json.RawMessage) any {
	var req selectorRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return map[string]any{"error": err.Error()}
	}
	sel, err := fields.ParseSelector(req.Selector)
	if err != nil {
		return map[string]any{"ok": false, "reason": err.Error()}
	}
	terms := []map[string]any{}
	for _, r := range sel.Requirements() {
		terms = append(terms, map[string]any{"field": r.Field, "op": string(r.Operator), "value": r.Value})
	}
	matches := []bool{}
	for _, set := range req.Sets {
		matches = append(matches, sel.Matches(fields.Set(set)))
	}
	return map[string]any{"ok": true, "string": sel.String(), "requirements": terms, "matches": matches}
}

func init() {
	ops["labelselector"] = runLabelSelector
	ops["fieldselector"] = runFieldSelector
}
