package arena

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// WriteTable writes the leaderboard as an aligned text table: rank by
// intervals, model, Bradley–Terry rating, its 95% interval, online Elo and
// battle count, ratings rounded to whole points.
func (lb *Leaderboard) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tmodel\trating\t95% CI\telo\tbattles")
	total := 0
	for _, r := range lb.Ratings {
		fmt.Fprintf(tw, "%d\t%s\t%.0f\t%.0f – %.0f\t%.0f\t%d\n", r.Rank, r.Model, r.Rating, r.CILower, r.CIUpper, r.Elo, r.Battles)
		total += r.Battles
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d battles between %d models; ratings are Bradley–Terry on the Elo scale (mean %d), intervals from %d bootstrap resamples.\n",
		total/2, len(lb.Ratings), EloInit, lb.Bootstrap)
	return err
}

// WriteWinRates writes the pairwise win-rate matrix: the fraction of
// decisive battles the row model won against the column model, "-" where
// they had none. Columns are numbered by rank order to keep them narrow.
func (lb *Leaderboard) WriteWinRates(w io.Writer) error {
	nameWidth := 0
	for _, r := range lb.Ratings {
		nameWidth = max(nameWidth, utf8.RuneCountInString(r.Model))
	}
	num := len(strconv.Itoa(len(lb.Ratings)))
	var b strings.Builder
	fmt.Fprintf(&b, "%*s", num+2+nameWidth, "")
	for j := range lb.Ratings {
		fmt.Fprintf(&b, "%6d", j+1)
	}
	b.WriteByte('\n')
	for i, r := range lb.Ratings {
		fmt.Fprintf(&b, "%*d  %s%*s", num, i+1, r.Model, nameWidth-utf8.RuneCountInString(r.Model), "")
		for _, f := range lb.WinRate[i] {
			if math.IsNaN(f) {
				fmt.Fprintf(&b, "%6s", "-")
			} else {
				fmt.Fprintf(&b, "%6.2f", f)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
