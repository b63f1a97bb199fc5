# The one style of lrlab's figures, loaded by every script in plots/ after it sets its
# default size (dpw, dph: inches) so that a figure printed at that size in a paper is
# readable as it is (README "Figures").
#   terminal  PDF (pdfcairo) at pw x ph inches, PNG (pngcairo) at the same size and 200
#             pixels per inch, fonts and lines scaled with it: the PNG is the PDF's picture
#   lines     measured: solid with points; a bound that always holds: dashed (dt_always);
#             a bound with probability: dash-dot (dt_prob); a prediction: dotted (dt_pred);
#             a bound in its compressor's colour (lr_gp_compressor_colour in C)
#   legend    below the plot (default), inside, outside at the right, or none
# lrlab sets (lr_gp_vars_style): fmt, out, pw, ph (0: dpw, dph), fs (points), legend.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.0
if (!exists("pw") || pw <= 0) pw = dpw
if (!exists("ph") || ph <= 0) ph = dph
if (!exists("fs") || fs <= 0) fs = 7
if (!exists("legend")) legend = "below"
dpi = 200.0
if (fmt eq "pdf") {
    eval sprintf('set terminal pdfcairo noenhanced size %gin,%gin font "Sans,%g" linewidth 1 dashlength 1', pw, ph, fs)
} else {
    # pngcairo draws fonts at 72 dpi and lines 1px wide: scale both to 200 dpi.
    eval sprintf('set terminal pngcairo noenhanced size %d,%d font "Sans,%g" fontscale %g linewidth %g dashlength 1', \
                 int(pw * dpi), int(ph * dpi), fs, dpi / 72.0, dpi / 72.0 / 2.0)
}
set output out
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set bars small
sfont = sprintf(",%g", fs - 0.5)
set xtics font sfont
set ytics font sfont
dt_always = 11
dt_prob = 12
dt_pred = 13
set dashtype 11 (8, 4)
set dashtype 12 (9, 3.5, 1.5, 3.5)
set dashtype 13 (1.5, 3)
lw_meas = 1.6
lw_bound = 1.5
ps_meas = 0.6
# The legend: one or two columns below the plot, never beside it unless asked.
if (legend eq "below") {
    set key below center horizontal maxcols 2 samplen 1.6 spacing 0.9 width 0 height 1.2 font sfont
} else {
    if (legend eq "inside") {
        set key inside top left vertical samplen 2.5 spacing 0.95 opaque box lc rgb "#bbbbbb" font sfont
    } else {
        if (legend eq "outside") {
            set key outside right top vertical samplen 2.5 spacing 0.95 font sfont
        } else {
            unset key
        }
    }
}
# Titles: the figure, then what it is drawn from (subtitle, then subtitle2, subtitle3 if set).
if (!exists("subtitle")) subtitle = ""
if (!exists("title")) title = ""
tfont = sprintf(",%g", fs)
ftitle = title
do for [t in "subtitle subtitle2 subtitle3"] { if (exists(t)) { if (value(t) ne "") { ftitle = ftitle."\n".value(t) } } }
set title ftitle font tfont
