package main

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/twisted-go/threadpool/bench/internal/runs"
)

// run is the part of a bench run's JSON line (cmd/bench's Result) the
// charts show.
type run struct {
	Pool       string  `json:"pool"`
	Scenario   string  `json:"scenario"`
	Size       int     `json:"size"`
	Submitters int     `json:"submitters"`
	Tasks      int     `json:"tasks"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Error      string  `json:"error"`
	NsPerTask  float64 `json:"ns_per_task"`
	P50Ns      int64   `json:"p50_ns"`
	PeakRSSKiB int64   `json:"peak_rss_kib"`
	AfterGaps  []int   `json:"after_gaps"` // burst: one per burst
}

// Key groups the runs (runs.Run).
func (r run) Key() (string, int, string, string) { return r.Scenario, r.Size, r.Pool, r.Error }

func init() {
	// Sans-serif text throughout: it reads better at the small sizes of
	// tick labels.
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	plotter.DefaultFont = plot.DefaultFont
}

// chartFiles names every chart charts can make.
var chartFiles = []string{"dispatch", "latency", "memory"}

// reference is the pool every bar is compared with: the textbook pool.
const reference = "fixed"

// chart is one image: a grid of panels, one per scenario and size.
type chart struct {
	file    string // without the extension
	heading string
	cols    int
	panels  []panel
}

// panel is one bar chart: a figure of one scenario at one size, per pool.
type panel struct {
	title string
	unit  string // the axis label
	fig   func(run) float64
	g     *runs.Group[run]
}

var (
	nsPerTask = func(r run) float64 { return r.NsPerTask }
	p50       = func(r run) float64 { return float64(r.P50Ns) }
	rssMiB    = func(r run) float64 { return float64(r.PeakRSSKiB) / 1024 }
)

// charts lays out the charts the groups have figures for: ns/task of the
// dispatch-bound scenarios, the hand-over latency, and peak memory.
func charts(groups []*runs.Group[run]) []chart {
	pick := func(scenario string) []*runs.Group[run] {
		var gs []*runs.Group[run]
		for _, g := range groups {
			if g.Scenario == scenario && len(g.Runs) > 0 {
				gs = append(gs, g)
			}
		}
		slices.SortFunc(gs, func(a, b *runs.Group[run]) int { return cmp.Compare(a.Size, b.Size) })
		return gs
	}
	dispatch := chart{file: "dispatch", cols: 2,
		heading: "Empty tasks, ns per task: the cost of dispatch alone"}
	for _, sc := range []string{"tiny", "tiny8"} {
		for _, g := range pick(sc) {
			first := anyRun(g)
			sub := "1 submitter"
			if first.Submitters > 1 {
				sub = fmt.Sprintf("%d submitters", first.Submitters)
			}
			dispatch.panels = append(dispatch.panels, panel{
				title: fmt.Sprintf("%s empty tasks, %s, %s", runs.Thousands(first.Tasks), sub, workers(g)),
				unit:  "ns/task", fig: nsPerTask, g: g,
			})
		}
	}
	latency := chart{file: "latency", cols: 1,
		heading: "Submit → task start on an idle pool, p50 ns"}
	for _, g := range pick("latency") {
		latency.panels = append(latency.panels, panel{
			title: fmt.Sprintf("%s samples, each on an idle warm pool, %s", runs.Thousands(anyRun(g).Tasks), workers(g)),
			unit:  "p50 ns", fig: p50, g: g,
		})
	}
	memory := chart{file: "memory", cols: 2,
		heading: "Peak memory (VmHWM of the measured phase), MiB"}
	for _, g := range pick("sleep") {
		memory.panels = append(memory.panels, panel{
			title: fmt.Sprintf("%s tasks of time.Sleep(1 ms), %s", runs.Thousands(anyRun(g).Tasks), workers(g)),
			unit:  "peak RSS MiB", fig: rssMiB, g: g,
		})
	}
	for _, g := range pick("burst") {
		r := anyRun(g)
		bursts := max(1, len(r.AfterGaps))
		memory.panels = append(memory.panels, panel{
			title: fmt.Sprintf("%d bursts of %s × time.Sleep(100 µs), %s, resized", bursts, runs.Thousands(r.Tasks/bursts), workers(g)),
			unit:  "peak RSS MiB", fig: rssMiB, g: g,
		})
	}
	var out []chart
	for _, c := range []chart{dispatch, latency, memory} {
		if len(c.panels) > 0 {
			c.cols = min(c.cols, len(c.panels))
			out = append(out, c)
		}
	}
	return out
}

// anyRun is one run of the group, the same each time.
func anyRun(g *runs.Group[run]) run {
	pools := slices.Sorted(maps.Keys(g.Runs))
	if len(pools) == 0 {
		return run{}
	}
	return g.Runs[pools[0]][0]
}

func workers(g *runs.Group[run]) string {
	if g.Size == anyRun(g).GOMAXPROCS {
		return fmt.Sprintf("%d workers (= GOMAXPROCS)", g.Size)
	}
	return runs.Thousands(g.Size) + " workers"
}

// Colours: this project's pools stand out; the floors (fixed, lazy, go) are
// dark, the peers light.
var (
	colOurs  = color.RGBA{R: 0x1f, G: 0x6f, B: 0xd0, A: 0xff}
	colFloor = color.RGBA{R: 0x6b, G: 0x6b, B: 0x6b, A: 0xff}
	colPeer  = color.RGBA{R: 0xbd, G: 0xbd, B: 0xbd, A: 0xff}
	colRef   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

func ours(pool string) bool { return pool == "threadpool" || strings.HasPrefix(pool, "threadpool-") }

func colour(pool string) color.Color {
	switch {
	case ours(pool):
		return colOurs
	case pool == reference || pool == "lazy" || pool == "go":
		return colFloor
	}
	return colPeer
}

// bar is one pool's median.
type bar struct {
	pool string
	med  float64
	runs int
}

// plot makes the panel's bar chart: one horizontal bar per pool with runs,
// the fastest at the top, each labelled with its median and its ratio to
// the reference, whose median is also a dashed line across the panel.
func (pn panel) plot() (*plot.Plot, error) {
	var bars []bar
	for pool, rs := range pn.g.Runs {
		bars = append(bars, bar{pool, runs.Aggregate(rs, pn.fig).Med, len(rs)})
	}
	if len(bars) == 0 {
		return nil, fmt.Errorf("%s: no runs", pn.title)
	}
	// The largest at the bottom (index 0), so the fastest reads first.
	slices.SortFunc(bars, func(a, b bar) int { return cmp.Or(cmp.Compare(b.med, a.med), cmp.Compare(a.pool, b.pool)) })
	ref := math.NaN()
	if rs := pn.g.Runs[reference]; len(rs) > 0 {
		ref = runs.Aggregate(rs, pn.fig).Med
	}

	p := plot.New()
	p.Title.Text = pn.title
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.Title.Padding = vg.Points(4)
	grid := plotter.NewGrid()
	grid.Horizontal.Width = 0
	grid.Vertical.Color = color.Gray{Y: 0xe4}
	p.Add(grid)
	if !math.IsNaN(ref) {
		line, err := plotter.NewLine(plotter.XYs{{X: ref, Y: -0.5}, {X: ref, Y: float64(len(bars)) - 0.5}})
		if err != nil {
			return nil, err
		}
		line.Color = colRef
		line.Width = vg.Points(1)
		line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(line)
	}
	nRuns := 0
	names := make([]string, len(bars))
	hi := 0.0
	labels := plotter.XYLabels{}
	for i, b := range bars {
		names[i] = b.pool
		hi = max(hi, b.med)
		nRuns = max(nRuns, b.runs)
		bc, err := plotter.NewBarChart(plotter.Values{b.med}, vg.Points(13))
		if err != nil {
			return nil, err
		}
		bc.Horizontal = true
		bc.XMin = float64(i)
		bc.Color = colour(b.pool)
		bc.LineStyle.Width = 0
		p.Add(bc)
		label := runs.Num(b.med)
		switch {
		case b.pool == reference:
			label += "  (1×, the textbook pool)"
		case !math.IsNaN(ref) && ref > 0:
			label += fmt.Sprintf("  (%.2f×)", b.med/ref)
		}
		labels.XYs = append(labels.XYs, plotter.XY{X: b.med, Y: float64(i)})
		labels.Labels = append(labels.Labels, label)
	}
	if !(hi > 0) {
		return nil, fmt.Errorf("%s: every median is %v (a figure missing from the runs' lines?)", pn.title, hi)
	}
	p.NominalY(names...)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Padding = 0
	p.X.Min = 0
	p.X.Max = hi * 1.42 // room for the labels
	p.X.Padding = vg.Points(2)
	p.X.Label.Text = fmt.Sprintf("%s: median of %d runs (ratio to fixed); shorter is better", pn.unit, nRuns)
	p.X.Label.TextStyle.Font.Size = vg.Points(10)
	p.X.Tick.Label.Font.Size = vg.Points(9)

	l, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].YAlign = draw.YCenter
		l.TextStyle[i].Font.Size = vg.Points(9)
		if ours(bars[i].pool) {
			l.TextStyle[i].Font.Weight = xfont.WeightBold
		}
	}
	l.Offset = vg.Point{X: vg.Points(4)}
	p.Add(l)
	return p, nil
}

// render draws the chart into w in format ("svg" or "png"): the heading,
// the key, the panels, and the caption, if any, under them.
func (c chart) render(w io.Writer, format, caption string) error {
	rows := (len(c.panels) + c.cols - 1) / c.cols
	width := vg.Points(max(480, 390*float64(c.cols)))
	const margin = 10

	// The key: one entry per kind of bar and the reference line, wrapped to
	// the width.
	keyStyle := draw.TextStyle{Color: color.Black, Font: font.From(plot.DefaultFont, 10),
		XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	type entry struct {
		col  color.Color
		line bool
		text string
		at   vg.Point // from the top left
	}
	entries := []entry{
		{col: colOurs, text: "this pool (threadpool, and its variants)"},
		{col: colFloor, text: "floors: fixed (the textbook pool), lazy (the placement rule alone), go (no pool)"},
		{col: colPeer, text: "peers"},
		{col: colRef, line: true, text: "fixed's median: the ratios are to it"},
	}
	x, y := vg.Length(margin), vg.Points(38)
	for i := range entries {
		w := vg.Points(22) + keyStyle.Width(entries[i].text)
		if x > margin && x+w > width-margin {
			x, y = margin, y+vg.Points(16)
		}
		entries[i].at = vg.Point{X: x, Y: y}
		x += w + vg.Points(12)
	}
	top := y + vg.Points(18)
	height := top + vg.Points(250*float64(rows)+20)

	var canvas vg.CanvasWriterTo
	switch format {
	case "svg":
		canvas = vgsvg.New(width, height)
	case "png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(144))}
	default:
		return fmt.Errorf("format %q: svg or png", format)
	}
	dc := draw.New(canvas)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, c.cols)
	}
	for i, pn := range c.panels {
		p, err := pn.plot()
		if err != nil {
			return err
		}
		grid[i/c.cols][i%c.cols] = p
	}
	tiles := draw.Tiles{Rows: rows, Cols: c.cols,
		PadTop: top, PadBottom: vg.Points(20), PadLeft: vg.Points(8), PadRight: vg.Points(14),
		PadX: vg.Points(24), PadY: vg.Points(18)}
	cells := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(cells[i][j])
			}
		}
	}

	head := keyStyle
	head.Font.Size = vg.Points(14)
	head.Font.Weight = xfont.WeightBold
	head.YAlign = draw.YTop
	dc.FillText(head, vg.Point{X: margin, Y: height - vg.Points(8)}, c.heading)
	for _, e := range entries {
		x, y := e.at.X, height-e.at.Y
		if e.line {
			ls := draw.LineStyle{Color: e.col, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
			dc.StrokeLine2(ls, x, y, x+vg.Points(16), y)
		} else {
			dc.SetColor(e.col)
			dc.Fill(vg.Rectangle{Min: vg.Point{X: x, Y: y - vg.Points(5)}, Max: vg.Point{X: x + vg.Points(16), Y: y + vg.Points(5)}}.Path())
		}
		dc.FillText(keyStyle, vg.Point{X: x + vg.Points(22), Y: y}, e.text)
	}
	if caption != "" {
		cs := keyStyle
		cs.Font.Size = vg.Points(9)
		cs.Color = color.Gray{Y: 0x55}
		cs.YAlign = draw.YBottom
		dc.FillText(cs, vg.Point{X: margin, Y: vg.Points(6)}, caption)
	}
	if format != "svg" {
		_, err := canvas.WriteTo(w)
		return err
	}
	// The SVG names its font without embedding it. Liberation Sans has
	// Arial's metrics, so where it is missing Arial, then Helvetica, then
	// any sans-serif font keeps the text in the room it was laid out for.
	var b bytes.Buffer
	if _, err := canvas.WriteTo(&b); err != nil {
		return err
	}
	_, err := w.Write(bytes.ReplaceAll(b.Bytes(), []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")))
	return err
}
