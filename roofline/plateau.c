/* roofline/plateau.c -- memory-level ceilings from a bandwidth sweep (include/mobitune.h,
 * mbt_plateaus): each level's plateau is the median of the points well inside it, and its
 * edge is where the curve leaves it. */
#include "config.h"

#include <math.h>

#include "common/common.h"
#include "roofline/roofline.h"

/* Points with lo <= ws <= hi: their median and relative spread; returns how many. */
static int window(const double *ws, const double *gbs, int n, double lo, double hi,
                  double *med, double *spread) {
  double v[64];
  int k = 0;
  for (int i = 0; i < n && k < 64; i++)
    if (ws[i] >= lo && ws[i] <= hi) v[k++] = gbs[i];
  if (k == 0) return 0;
  double mn = v[0], mx = v[0];
  for (int i = 1; i < k; i++) mn = v[i] < mn ? v[i] : mn, mx = v[i] > mx ? v[i] : mx;
  *med = mbt_median(v, k);
  *spread = *med > 0 ? (mx - mn) / *med : 0;
  return k;
}

int mbt_plateau_window(const double *ws, int n, const double *cap, int ncap, int l,
                       double *lo, double *hi) {
  const double below = l > 0 ? cap[l - 1] : 0, above = l < ncap ? cap[l] : INFINITY;
  double a, b;
  for (int relaxed = 0; relaxed < 2; relaxed++) {
    if (!relaxed)
      a = l == 0 ? 0 : l < ncap ? 2 * below : 4 * below, b = l < ncap ? above / 2 : INFINITY;
    else
      a = l == 0 ? 0 : 1.25 * below, b = l < ncap ? 0.8 * above : INFINITY;
    int k = 0;
    for (int i = 0; i < n; i++) k += ws[i] >= a && ws[i] <= b;
    if (k > 0) {
      *lo = a, *hi = b;
      return k;
    }
  }
  return 0;
}

int mbt_plateaus(const double *ws, const double *gbs, int n, const double *cap, int ncap,
                 double *value, double *spread, double *edge) {
  const int nl = ncap + 1; /* the caches, then DRAM */
  int found = 0;
  for (int l = 0; l < nl; l++) {
    double lo, hi;
    value[l] = spread[l] = edge[l] = 0;
    if (!mbt_plateau_window(ws, n, cap, ncap, l, &lo, &hi) ||
        !window(ws, gbs, n, lo, hi, &value[l], &spread[l]))
      continue;
    found++;
  }
  /* Edges: past a level's plateau, the first point below the geometric mean of it and the
   * next level's plateau (two points in a row, so one noisy point does not make an edge). */
  for (int l = 0; l < ncap; l++) {
    if (value[l] <= 0 || value[l + 1] <= 0) continue;
    const double cut = sqrt(value[l] * value[l + 1]);
    for (int i = 0; i + 1 < n; i++)
      if (ws[i] > (l > 0 ? 2 * cap[l - 1] : 0) && gbs[i] < cut && gbs[i + 1] < cut) {
        edge[l] = i > 0 ? sqrt(ws[i - 1] * ws[i]) : ws[i]; /* between the last high and first low */
        break;
      }
  }
  return found;
}
