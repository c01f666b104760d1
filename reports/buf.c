/* reports/buf.c -- the report's text buffer. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
