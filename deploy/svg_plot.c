/*
 * svg_plot.c — a self-contained SVG scatter plot of quality against weight bytes, readable
 * without any other tool: axes with tick labels, a log2 x axis (bit widths halve the bytes),
 * one <circle class="variant"> per point with its label beside it and a <title> tooltip, the
 * Pareto front drawn as a line through its points (filled red; others hollow grey), a legend.
 *
 * Layout: a W x H canvas, the plot area inset by margins; x = log2(bytes) and y = quality
 * mapped linearly onto it, each range padded by 5% so points do not sit on the frame.
 */
#include <math.h>
#include <stdlib.h>

#include "deploy.h"

#define SVG_W 760
#define SVG_H 480
#define SVG_ML 80  /* left margin: y tick labels */
#define SVG_MR 30
#define SVG_MT 50  /* top: the title */
#define SVG_MB 60  /* bottom: x tick labels and the axis name */

void deploy_xml_text(TextBuf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': text_buf_printf(b, "&amp;"); break;
        case '<': text_buf_printf(b, "&lt;"); break;
        case '>': text_buf_printf(b, "&gt;"); break;
        case '"': text_buf_printf(b, "&quot;"); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n') text_buf_printf(b, "%c", *s);
        }
    }
}

typedef struct {
    double x0, x1, y0, y1;  /* data ranges (x in log2) */
} SvgScale;

static double sx(const SvgScale *s, double x) {
    return SVG_ML + (log2(x) - s->x0) / (s->x1 - s->x0) * (SVG_W - SVG_ML - SVG_MR);
}

static double sy(const SvgScale *s, double y) {
    return SVG_H - SVG_MB - (y - s->y0) / (s->y1 - s->y0) * (SVG_H - SVG_MT - SVG_MB);
}

static SvgScale svg_scale(const DeploySvgPoint *p, int n) {
    SvgScale s = {INFINITY, -INFINITY, INFINITY, -INFINITY};
    for (int i = 0; i < n; i++) {
        double lx = log2(p[i].x > 0 ? p[i].x : 1);
        s.x0 = fmin(s.x0, lx);
        s.x1 = fmax(s.x1, lx);
        if (isfinite(p[i].y)) s.y0 = fmin(s.y0, p[i].y), s.y1 = fmax(s.y1, p[i].y);
    }
    if (!(s.x1 > s.x0)) s.x0 -= 1, s.x1 += 1;
    if (!(s.y1 > s.y0)) s.y0 = isfinite(s.y0) ? s.y0 - 0.01 : 0, s.y1 = isfinite(s.y1) ? s.y1 + 0.01 : 1;
    double px = 0.05 * (s.x1 - s.x0), py = 0.05 * (s.y1 - s.y0);
    s.x0 -= px, s.x1 += px, s.y0 -= py, s.y1 += py;
    return s;
}

static void svg_axes(TextBuf *b, const SvgScale *s, const char *xlabel, const char *ylabel) {
    int x0 = SVG_ML, x1 = SVG_W - SVG_MR, y0 = SVG_MT, y1 = SVG_H - SVG_MB;
    text_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n", x0, y0,
                    x1 - x0, y1 - y0);
    for (int k = 0; k <= 5; k++) { /* y ticks */
        double v = s->y0 + (s->y1 - s->y0) * k / 5.0, py = sy(s, v);
        text_buf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0, py, x1, py);
        text_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">%.4g</text>\n", x0 - 6,
                        py + 4, v);
    }
    for (int e = (int)ceil(s->x0); e <= (int)floor(s->x1); e++) { /* x ticks at powers of two */
        double px = sx(s, pow(2.0, e));
        double v = pow(2.0, e);
        const char *unit = v >= 1 << 20 ? "MiB" : v >= 1 << 10 ? "KiB" : "B";
        double shown = v >= 1 << 20 ? v / (1 << 20) : v >= 1 << 10 ? v / (1 << 10) : v;
        text_buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", px, y0, px, y1);
        text_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">%g %s</text>\n", px,
                        y1 + 18, shown, unit);
    }
    text_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\">", (x0 + x1) / 2, SVG_H - 15);
    deploy_xml_text(b, xlabel);
    text_buf_printf(b, "</text>\n<text x=\"18\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\" "
                       "transform=\"rotate(-90 18 %d)\">", (y0 + y1) / 2, (y0 + y1) / 2);
    deploy_xml_text(b, ylabel);
    text_buf_printf(b, "</text>\n");
}

static int by_x(const void *a, const void *b) {
    const DeploySvgPoint *p = a, *q = b;
    return (p->x > q->x) - (p->x < q->x);
}

void deploy_svg_plot(TextBuf *b, const char *title, const char *xlabel, const char *ylabel, const DeploySvgPoint *pts,
                     int n) {
    SvgScale s = svg_scale(pts, n);
    text_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                       "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                    SVG_W, SVG_H, SVG_W, SVG_H);
    text_buf_printf(b, "<text x=\"%d\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">", SVG_W / 2);
    deploy_xml_text(b, title);
    text_buf_printf(b, "</text>\n");
    svg_axes(b, &s, xlabel, ylabel);
    /* the front as a line, in order of bytes */
    DeploySvgPoint *front = malloc((size_t)(n ? n : 1) * sizeof *front);
    int nf = 0;
    for (int i = 0; front && i < n; i++)
        if (pts[i].on_front && isfinite(pts[i].y)) front[nf++] = pts[i];
    if (front && nf > 1) {
        qsort(front, (size_t)nf, sizeof *front, by_x);
        text_buf_printf(b, "<polyline class=\"pareto\" fill=\"none\" stroke=\"#c00\" stroke-width=\"1.5\" points=\"");
        for (int i = 0; i < nf; i++) text_buf_printf(b, "%s%.1f,%.1f", i ? " " : "", sx(&s, front[i].x), sy(&s, front[i].y));
        text_buf_printf(b, "\"/>\n");
    }
    free(front);
    for (int i = 0; i < n; i++) {
        double px = sx(&s, pts[i].x > 0 ? pts[i].x : 1), py = isfinite(pts[i].y) ? sy(&s, pts[i].y) : SVG_H - SVG_MB;
        text_buf_printf(b, "<circle class=\"variant%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" stroke=\"%s\">"
                           "<title>", pts[i].on_front ? " front" : "", px, py, pts[i].on_front ? "#c00" : "white",
                        pts[i].on_front ? "#c00" : "#666");
        deploy_xml_text(b, pts[i].label);
        text_buf_printf(b, ": %.0f bytes, %.4g</title></circle>\n", pts[i].x, pts[i].y);
        text_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#333\">", px + 7, py - 6);
        deploy_xml_text(b, pts[i].label);
        text_buf_printf(b, "</text>\n");
    }
    text_buf_printf(b, "<g font-size=\"12\"><circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"#c00\"/>"
                       "<text x=\"%d\" y=\"%d\">Pareto front</text>"
                       "<circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"white\" stroke=\"#666\"/>"
                       "<text x=\"%d\" y=\"%d\">dominated</text></g>\n</svg>\n",
                    SVG_ML + 12, SVG_MT + 14, SVG_ML + 22, SVG_MT + 18, SVG_ML + 12, SVG_MT + 32, SVG_ML + 22,
                    SVG_MT + 36);
}
