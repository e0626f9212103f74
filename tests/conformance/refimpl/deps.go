// The reference packages the ops use, imported here too so `go mod tidy` keeps
// every one of them in go.mod and go.sum even before an op file imports it.
package main

import (
	_ "github.com/robfig/cron/v3"
	_ "k8s.io/apimachinery/pkg/api/resource"
	_ "k8s.io/apimachinery/pkg/fields"
	_ "k8s.io/apimachinery/pkg/labels"
	_ "k8s.io/client-go/util/jsonpath"
)
