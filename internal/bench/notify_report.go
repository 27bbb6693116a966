package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// notifyGoal is the fan-out goal of DESIGN.md.
const notifyGoal = 20000

// Markdown writes the report: the goals table, the write runs, the
// machine and any failed step.
func (s *NotifyReport) Markdown(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	c := s.Config
	p("## Qala notification benchmark, %s\n\n", s.Machine.Date)
	how := "`PATCH /entities/{id}/attrs`, one update a request"
	if c.Batch > 1 {
		how = fmt.Sprintf("`POST /entityOperations/update`, %d updates a request", c.Batch)
	}
	p("%s subscriptions on %d entity types (%d each: watchedAttributes, q filters, and 5 decoys that never fire), "+
		"notifications to %d local HTTP receivers (%s server); %s entities updated in turn at %s updates/s for %s (%s, open loop, %d connections), "+
		"every update owed %d notifications: %s notifications/s owed.\n\n",
		fmtRate(float64(c.Subs)), c.Types, notifySlots, c.Receivers, c.Receiver, fmtRate(float64(c.Entities)), fmtRate(c.Rate), c.Duration,
		how, c.Workers, c.Match, fmtRate(c.Rate*float64(c.Match)))
	p("| figure | value | goal | met |\n|---|---:|---|---|\n")
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	if s.Owed > 0 {
		p("| delivered / owed | %s / %s (%.3f %%) | 100 %% | %s |\n", fmtRate(float64(s.Delivered)), fmtRate(float64(s.Owed)),
			100*float64(s.Delivered)/float64(s.Owed), yes(s.Delivered == s.Owed))
		p("| subscriptions that got all they were owed | %s / %s | all | %s |\n", fmtRate(float64(s.SubsWhole)), fmtRate(float64(c.Subs)), yes(s.SubsWhole == c.Subs))
		p("| duplicates: same notification id again / same update under another id | %s / %s | — |  |\n", fmtRate(float64(s.DupIDs)), fmtRate(float64(s.Repeated)))
		p("| unexpected (not owed by any subscription) / malformed | %d / %d | 0 | %s |\n", s.Unexpected, s.Malformed,
			yes(s.Unexpected == 0 && s.Malformed == 0))
		// The stream offers exactly Rate × Match notifications a second: a
		// broker that keeps up delivers that, within the jitter of a second.
		offered := c.Rate * float64(c.Match)
		p("| notifications/s delivered while the stream ran (mean of its steady seconds; slowest second) | %s (slowest %s) | ≥ %s (offered %s) | %s |\n",
			fmtRate(s.Steady), fmtRate(float64(s.SteadyMin)), fmtRate(notifyGoal), fmtRate(offered),
			yes(s.Steady >= 0.99*notifyGoal && s.Steady >= 0.99*offered && s.Delivered == s.Owed))
		p("| notifications/s from the first update to the last receipt | %s | — |  |\n", fmtRate(s.PerSecond))
		p("| end-to-end latency (update sent → received) p50 / p99 / max | %s / %s / %s | — |  |\n",
			fmtMS(s.E2E.P50), fmtMS(s.E2E.P99), fmtMS(s.E2E.Max))
		drain := fmt.Sprintf("%.2f s", s.DrainSecs)
		if s.DrainRate > 0 {
			drain += fmt.Sprintf(" (%s notifications/s)", fmtRate(s.DrainRate))
		}
		p("| delivery after the last update (drain of the backlog) | %s | — |  |\n", drain)
	}
	for _, r := range []struct {
		label string
		r     *paceResult
	}{{"without subscriptions", s.WriteNoSubs}, {"with subscriptions", s.WriteSubs}} {
		if r.r == nil {
			continue
		}
		p("| write latency %s p50 / p99 | %s / %s%s | — |  |\n", r.label, fmtMS(r.r.Latency.P50), fmtMS(r.r.Latency.P99), errNote(r.r.Errors))
	}
	if s.QalaCPU[0] > 0 {
		p("| CPU cores used, Qala / load tool: stream without subscriptions; with them (and the drain) | %.2f / %.2f; %.2f / %.2f | — |  |\n",
			s.QalaCPU[0], s.ToolCPU[0], s.QalaCPU[1], s.ToolCPU[1])
	}
	if s.QalaWait[0] > 0 || s.QalaWait[1] > 0 {
		p("| run-queue wait (runnable threads not running, per second), Qala / load tool: same phases | %.2f / %.2f; %.2f / %.2f | — |  |\n",
			s.QalaWait[0], s.ToolWait[0], s.QalaWait[1], s.ToolWait[1])
	}
	if s.RSS > 0 {
		p("| Qala RSS at the end | %s (peak %s) | — |  |\n", fmtBytes(s.RSS), fmtBytes(s.PeakRSS))
	}
	if s.ProbeOwed > 0 {
		p("\n%d subscriptions created in %.2f s; the probe (one update per type) got %d of %d notifications in %.2f s. ",
			c.Subs, s.SubsSeconds, s.ProbeGot, s.ProbeOwed, s.ProbeSeconds)
	}
	if b := s.Broker; b != nil {
		p("The broker's own counts (notification.timesSent and timesFailed, clause 5.2.14), probe included: timesSent %s, timesFailed %s, status %v. ",
			fmtRate(float64(b.TimesSent)), fmtRate(float64(b.TimesFailed)), b.Status)
	}
	if s.Owed > 0 {
		p("Received %s notification requests over %s connections, carrying %s entities (distinct ids); %d items for updates whose write was not acknowledged, %d for state before the subscriptions.\n",
			fmtRate(float64(s.Messages)), fmtRate(float64(s.Conns)), fmtRate(float64(s.Items)), s.Unacked, s.Before)
	}
	for _, r := range []*paceResult{s.WriteNoSubs, s.WriteSubs} {
		if r != nil && r.Cutoff {
			p("\nThe stream %s was cut off at its bound (twice its duration + 5 s): %s of %s updates due were sent.\n",
				r.Shape, fmtRate(float64(r.Requests*uint64(c.Batch))), fmtRate(float64(r.Due*int64(c.Batch))))
		}
	}
	if len(s.Seconds) > 0 {
		p("\n%s\n", timeline(s.Seconds))
	}
	p("\nWrite latency is measured from when each update was due (open loop), so stalls count for every update behind them; service time is from the actual send.\n\n")
	p("| server | stream | c | requests | errors | req/s | p50 | p90 | p99 | max | service p50 / p99 | late > 10 ms |\n")
	p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range []*paceResult{s.WriteNoSubs, s.WriteSubs} {
		if r == nil {
			continue
		}
		p("| qala | %s | %d | %d | %d | %s | %s | %s | %s | %s | %s / %s | %d |\n", r.Shape, r.Concurrency, r.Requests, r.Errors,
			fmtRate(r.ReqPerSec), fmtMS(r.Latency.P50), fmtMS(r.Latency.P90), fmtMS(r.Latency.P99), fmtMS(r.Latency.Max),
			fmtMS(r.Service.P50), fmtMS(r.Service.P99), r.Late)
	}
	m := s.Machine
	p("\nMachine: %d CPUs (%s), %s memory, Linux %s; load tool %s; qala built with %s%s; receivers and load generator in one process on the same machine",
		m.CPUs, orDash(m.CPU), orDash(m.MemTotal), orDash(m.Kernel), m.GoVersion, orDash(m.QalaGo), revNote(m.QalaRev))
	if s.LoadAvg[0] != "" {
		p("; load average %s at the start, %s at the end", s.LoadAvg[0], orDash(s.LoadAvg[1]))
	}
	p(".\n")
	if s.BadSample != "" {
		p("\nFirst malformed notification: `%s`\n", s.BadSample)
	}
	for _, r := range []*paceResult{s.WriteNoSubs, s.WriteSubs} {
		if r != nil && r.ErrorSample != "" {
			p("\nFirst error of %s: `%s`\n", r.Shape, r.ErrorSample)
		}
	}
	if len(s.Errors) > 0 {
		p("\nFailed steps:\n")
		for _, e := range s.Errors {
			p("- %s\n", e)
		}
	}
}

// JSON returns the report as indented JSON.
func (s *NotifyReport) JSON() ([]byte, error) { return json.MarshalIndent(s, "", "  ") }

// timeline renders the deliveries per second from the stream's start; a
// long one in sums of 5 seconds.
func timeline(perSec []int64) string {
	step, unit := 1, "second"
	if len(perSec) > 60 {
		step, unit = 5, "5 seconds"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Delivered in each %s from the stream's start:", unit)
	for i := 0; i < len(perSec); i += step {
		var n int64
		for _, v := range perSec[i:min(i+step, len(perSec))] {
			n += v
		}
		b.WriteString(" " + fmtRate(float64(n)))
	}
	b.WriteByte('.')
	return b.String()
}
