/* reports/buf.c -- the report's text buffer, and the wording of figures every part uses. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report.h"

void put(struct buf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (w < 0) {
      b->oom = 1;
      return;
    }
    if ((size_t)w < b->cap - b->n) {
      b->n += (size_t)w;
      return;
    }
    size_t cap = (b->cap + (size_t)w + 1) * 2;
    char *s = realloc(b->s, cap);
    if (!s) {
      b->oom = 1;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
}

void esc(struct buf *b, const char *s) {
  for (; *s; s++) switch (*s) {
      case '<': put(b, "&lt;"); break;
      case '>': put(b, "&gt;"); break;
      case '&': put(b, "&amp;"); break;
      case '"': put(b, "&quot;"); break;
      case '\'': put(b, "&#39;"); break;
      default: put(b, "%c", *s);
    }
}

int mbt_report_attainable(double ratio, char *text, size_t n) {
  const int state = !(ratio > 1) ? 0 : ratio <= 1 + NOISE_BAND ? 1 : 2;
  if (state == 0) snprintf(text, n, "%.0f%%", 100 * fmax(ratio, 0));
  else snprintf(text, n, "%s", state == 1 ? "100%*" : ">100% (ceiling suspect)");
  return state;
}

void mbt_report_attainable_note(double ratio, char *text, size_t n) {
  if (!(ratio > 1)) snprintf(text, n, "%s", "");
  else if (ratio <= 1 + NOISE_BAND)
    snprintf(text, n, "within the %.0f%% noise band: measured %.0f%% of its ceiling, stated as "
             "100%%", 100 * NOISE_BAND, 100 * ratio);
  else
    snprintf(text, n, "ceiling suspect: measured %.2fx its ceiling, beyond the %.0f%% noise "
             "band, so the ceiling is too low", ratio, 100 * NOISE_BAND);
}

void mbt_report_cat(char *out, size_t n, const char *fmt, ...) {
  const size_t k = strlen(out);
  if (k + 1 >= n) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out + k, n - k, fmt, ap);
  va_end(ap);
}
