package main

// The "jsonpath" op: a template and a JSON document, answered as `kubectl get -o
// jsonpath=<template>` answers them. kubectl builds the printer with
// printers.NewJSONPathPrinter, sets AllowMissingKeys(true) (the default of
// --allow-missing-template-keys) and prints an object the API server sent, i.e. an
// Unstructured whose numbers were decoded as int64 when integral and float64
// otherwise; this op does the same with the same packages.

import (
	"bytes"
	"encoding/json"
	"reflect"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/util/jsonpath"
)

type jsonpathRequest struct {
	Template string          `json:"template"`
	Doc      json.RawMessage `json:"doc"`
}

// jsonpathAnswer: Kind is "parse" or "execute" when Ok is false. Output is the
// printer's exact text; Values has each selected value printed alone (the same
// rules), so a caller can compare results whose order Go leaves random (map
// iteration under `*` and `..`).
type jsonpathAnswer struct {
	Ok     bool     `json:"ok"`
	Output string   `json:"output"`
	Values []string `json:"values"`
	Kind   string   `json:"kind,omitempty"`
	Error  string   `json:"error,omitempty"`
}

func init() {
	ops["jsonpath"] = runJSONPath
}

func runJSONPath(raw json.RawMessage) any {
	var req jsonpathRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return map[string]any{"error": "bad request: " + err.Error()}
	}
	var doc any
	if err := utiljson.Unmarshal(req.Doc, &doc); err != nil {
		return map[string]any{"error": "bad doc: " + err.Error()}
	}
	printer, err := printers.NewJSONPathPrinter(req.Template)
	if err != nil {
		return jsonpathAnswer{Kind: "parse", Error: err.Error(), Values: []string{}}
	}
	printer.AllowMissingKeys(true)
	var out bytes.Buffer
	if obj, isMap := doc.(map[string]any); isMap {
		err = printer.PrintObj(&unstructured.Unstructured{Object: obj}, &out)
	} else {
		err = printer.Execute(&out, doc)
	}
	if err != nil {
		return jsonpathAnswer{Kind: "execute", Error: firstLine(err.Error()), Values: []string{}}
	}
	return jsonpathAnswer{Ok: true, Output: out.String(), Values: eachValue(req.Template, doc)}
}

// eachValue prints every selected value on its own, with the printer's rules.
func eachValue(template string, doc any) []string {
	finder := jsonpath.New("values").AllowMissingKeys(true)
	values := []string{}
	if finder.Parse(template) != nil {
		return values
	}
	results, err := finder.FindResults(doc)
	if err != nil {
		return values
	}
	for _, block := range results {
		for _, value := range block {
			var text bytes.Buffer
			if finder.PrintResults(&text, []reflect.Value{value}) == nil {
				values = append(values, text.String())
			}
		}
	}
	return values
}

func firstLine(text string) string {
	if i := bytes.IndexByte([]byte(text), '\n'); i >= 0 {
		return text[:i]
	}
	return text
}
