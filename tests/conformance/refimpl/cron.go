// The "cron" op: a schedule as a CronJob reads it (API validation, then the
// controller's robfig/cron schedule in spec.timeZone).
package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // the API server and controller-manager embed it for CronJob timeZone

	"github.com/robfig/cron/v3"
)

type cronRequest struct {
	Schedule string  `json:"schedule"`
	TimeZone *string `json:"timeZone"`
	Start    int64   `json:"start"` // Unix seconds
	Count    int     `json:"count"`
}

// The character rule CronJob validation applies to each part of a timeZone name.
var timeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

func cronJobTimeZoneError(tz string) string {
	if tz == "" {
		return "timeZone must be nil or non-empty string"
	}
	for _, part := range strings.Split(tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !timeZonePart.MatchString(part) {
			return "unknown time zone " + tz
		}
	}
	if strings.EqualFold(tz, "Local") {
		return "timeZone must be an explicit time zone"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return err.Error()
	}
	return ""
}

func runCron(raw json.RawMessage) any {
	var req cronRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return map[string]any{"error": err.Error()}
	}
	// A new CronJob refuses "TZ" anywhere in its schedule (checked first here:
	// robfig panics on "TZ=x" without a space, which the API server would recover).
	if strings.Contains(req.Schedule, "TZ") {
		return map[string]any{"ok": false, "reason": "cannot use TZ or CRON_TZ in schedule"}
	}
	if _, err := cron.ParseStandard(req.Schedule); err != nil {
		return map[string]any{"ok": false, "reason": err.Error()}
	}
	zone := "UTC" // the runner's default; a CronJob without timeZone uses the controller's zone
	if req.TimeZone != nil {
		if msg := cronJobTimeZoneError(*req.TimeZone); msg != "" {
			return map[string]any{"ok": false, "reason": msg, "timeZoneError": true}
		}
		zone = *req.TimeZone
	}
	sched, err := cron.ParseStandard("TZ=" + zone + " " + req.Schedule)
	if err != nil {
		return map[string]any{"error": "controller parse: " + err.Error()}
	}
	next := []int64{}
	at := time.Unix(req.Start, 0).UTC()
	for i := 0; i < req.Count; i++ {
		at = sched.Next(at)
		if at.IsZero() {
			break
		}
		next = append(next, at.Unix())
	}
	return map[string]any{"ok": true, "next": next}
}

func init() { ops["cron"] = runCron }
