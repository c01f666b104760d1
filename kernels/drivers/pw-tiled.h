/* kernels/drivers/pw-tiled.h -- the tiled pointwise driver, written once for every ISA.
 * C[P x oc] = A[P x ic] * W[ic x oc] over NR-column weight panels (f32-pwconv-pack.c): pixels in
 * blocks of MC (the A block stays in L2), the reduction in blocks of KC (the KC x NR weight
 * micro-panel stays in L1 while MC pixels stream past it); MC and KC come from the variant.
 * With several KC blocks the partial sums go through the output buffer.  Threads may split the
 * panels (cpart/cparts).
 *
 * The including file (kernels/f32-pwconv/pw-tile.h, the register tile) defines first:
 *   MBT_PW_LANES                  floats per vector register (NR = MBT_PW_LANES x NV)
 *   struct epi                    its epilogue constants
 *   MBT_PW_EPI(e, n0, p, ldc)     an initializer of struct epi for the tile at (p, n0)
 *   tile(mr, nv, nb, kc, a, lda, bp, c, ldc, ncols, first, last, &ep)   the register tile
 * then instantiates MBT_PW_TILED(MR, NV, FN, MBT_PW_CASES_<MR>).
 * A last panel with fewer channels runs tiles of as many vectors as it holds (nv < NV): with
 * all NV, a 32 -> 16 layer on the 12x32 tile spent half its FMAs on masked-off lanes. */
#ifndef MBT_PW_TILED_H
#define MBT_PW_TILED_H

#define MBT_PW_CASE(M, NV)                                                                     \
  case M: tile(M, NV, nbv, kc, a, lda, bp, c, ldc, ncols, first, last, &ep); break;
#define MBT_PW_CASES_3(NV) MBT_PW_CASE(3, NV) MBT_PW_CASE(2, NV) default: MBT_PW_CASE(1, NV)
#define MBT_PW_CASES_4(NV) MBT_PW_CASE(4, NV) MBT_PW_CASES_3(NV)
#define MBT_PW_CASES_6(NV) MBT_PW_CASE(6, NV) MBT_PW_CASE(5, NV) MBT_PW_CASES_4(NV)
#define MBT_PW_CASES_7(NV) MBT_PW_CASE(7, NV) MBT_PW_CASES_6(NV)
#define MBT_PW_CASES_8(NV) MBT_PW_CASE(8, NV) MBT_PW_CASES_7(NV)
#define MBT_PW_CASES_12(NV)                                                                    \
  MBT_PW_CASE(12, NV) MBT_PW_CASE(11, NV) MBT_PW_CASE(10, NV) MBT_PW_CASE(9, NV)               \
  MBT_PW_CASES_8(NV)

/* Tiles ahead of the one being computed whose output lines the driver fetches for writing
 * (mbt_prefetch_out), in the first reduction block, on layers whose whole output (not a fused
 * strip's: e->full_oh) is bigger than MBT_PW_PREFETCH_MIN bytes: a smaller one is mostly
 * still in cache from the layers before it, and there the prefetches only cost (V3-Small 1.03x
 * slower with them on every layer; V1 0.974x with the bar at 2 MiB, 0.982x at 1 MiB, where its
 * 56x56x128 fused pairs fetch too and run slower). */
#define MBT_PW_PREFETCH_TILES 2
#define MBT_PW_PREFETCH_MIN ((size_t)2 << 20)

/* Weights of this many bytes or more do not stay in L2 from one pass over them to the next (a
 * call makes one pass per pixel block, and the block's inputs share the L2): the first tile of
 * each panel waited for them.  There each tile fetches a share of the next micro-panel of the
 * walk (the next panel's, the next reduction block's first or the next pixel block's first)
 * into L2, a line every reduction step, while it computes (struct epi's pf).  Inside V1 (1
 * thread) its 14x14x512 blocks, three pixel blocks each, ran 6-8% faster with it; a bar of
 * 256 KiB, taking in the 28x28 layers too, gained nothing more. */
#define MBT_PW_PREFETCH_W ((size_t)1 << 20)

/* The lines ahead (struct mbt_exec's ahead) a call fetches: its share by rows and channel part
 * [*a0, *a1), spread evenly over its register tiles, at most one a reduction step; @return the
 * lines per tile (0: none).  The tiles count as the loops below walk them. */
static inline size_t mbt_pw_ahead(const struct mbt_exec *e, int r0, int r1, size_t tiles,
                                  size_t *a0, size_t *a1) {
  *a0 = *a1 = 0;
  if (!e->ahead || !e->ahead_lines || tiles == 0 || e->s.oh <= 0) return 0;
  const size_t rows = (size_t)e->s.oh, parts = e->cparts > 1 ? (size_t)e->cparts : 1;
  const size_t u = (size_t)(e->cparts > 1 ? e->cpart : 0) * rows, all = parts * rows;
  *a0 = e->ahead_lines * (u + (size_t)r0) / all, *a1 = e->ahead_lines * (u + (size_t)r1) / all;
  return (*a1 - *a0 + tiles - 1) / tiles;
}

#define MBT_PW_TILED(MR, NV, FN, CASES)                                                        \
  void FN(const struct mbt_exec *e, int r0, int r1) {                                          \
    const struct mbt_kshape *l = &e->s;                                                        \
    const size_t NR = (size_t)MBT_PW_LANES * NV;                                               \
    const int nbv = NV; /* the panel's width in vectors (MBT_PW_CASE) */                       \
    const size_t MC = e->mc > 0 ? (size_t)(e->mc + MR - 1) / MR * MR : MBT_PW_MC;              \
    const size_t KC = e->kc > 0 ? (size_t)e->kc : MBT_PW_KC;                                   \
    const size_t K = (size_t)l->ic, N = (size_t)l->oc, lda = K, ldc = e->ldo ? e->ldo : N;     \
    /* this call's share of the NR-column panels (threads may split output channels) */        \
    size_t j0, j1;                                                                             \
    mbt_cpart_panels((N + NR - 1) / NR, e->cpart, e->cparts, &j0, &j1);                        \
    const size_t nb0 = j0 * NR, nb1 = j1 * NR < N ? j1 * NR : N;                               \
    const size_t p1 = (size_t)r1 * l->ow;                                                      \
    const size_t out_rows = (size_t)(e->full_oh > 0 ? e->full_oh : l->oh);                    \
    const int pf = out_rows * l->ow * ldc * sizeof(float) > MBT_PW_PREFETCH_MIN;               \
    const int pw = K * N * sizeof(float) >= MBT_PW_PREFETCH_W;                                  \
    const size_t p0 = (size_t)r0 * l->ow, pn = p1 > p0 ? p1 - p0 : 0;                          \
    size_t a0, a1, at = 0; /* the lines ahead: this call's, and the tiles that took theirs */ \
    const size_t apt = mbt_pw_ahead(e, r0, r1,                                                 \
                                    (pn / MC * (MC / MR) + (pn % MC + MR - 1) / MR) *           \
                                        ((K + KC - 1) / KC) * (j1 - j0),                       \
                                    &a0, &a1);                                                 \
    for (size_t pb = p0; pb < p1; pb += MC) {                                 \
      const size_t pe = pb + MC < p1 ? pb + MC : p1;                                           \
      for (size_t kb = 0; kb < K; kb += KC) {                                                  \
        const size_t kc = K - kb < KC ? K - kb : KC;                                           \
        const int first = kb == 0, last = kb + kc >= K;                                        \
        for (size_t n0 = nb0; n0 < nb1; n0 += NR) {                                            \
          const int ncols = (int)(N - n0 < NR ? N - n0 : NR);                                  \
          const int nvc = (ncols + MBT_PW_LANES - 1) / MBT_PW_LANES; /* vectors it holds */    \
          const float *bp = e->packed + (n0 / NR) * NR * K + kb * NR;                          \
          const float *next = NULL; /* the micro-panel after this one, to fetch */             \
          size_t nextl = 0;         /* its lines */                                            \
          if (pw) {                                                                            \
            if (n0 + NR < nb1)                                                                 \
              next = bp + NR * K, nextl = kc * NR / 16;                                        \
            else if (kb + KC < K)                                                              \
              next = e->packed + (nb0 / NR) * NR * K + (kb + KC) * NR,                          \
              nextl = (K - kb - KC < KC ? K - kb - KC : KC) * NR / 16;                         \
            else if (pe < p1)                                                                  \
              next = e->packed + (nb0 / NR) * NR * K, nextl = (K < KC ? K : KC) * NR / 16;     \
          }                                                                                    \
          for (size_t p = pb; p < pe; p += MR) {                                               \
            const float *a = e->in + p * lda + kb;                                             \
            float *c = e->out + p * ldc + n0;                                                  \
            struct epi ep = MBT_PW_EPI(e, n0, p, ldc);                                         \
            const size_t l0 = (p - pb) / MR * kc; /* this tile's share of next's lines */      \
            if (next && l0 < nextl)                                                            \
              ep.pf = next + 16 * l0, ep.npf = nextl - l0 < kc ? nextl - l0 : kc;              \
            if (apt && a0 + at * apt < a1) {                                                   \
              const size_t o = a0 + at * apt, n = a1 - o < apt ? a1 - o : apt;                 \
              ep.ah = e->ahead + 16 * o, ep.nah = n < kc ? n : kc;                             \
            }                                                                                  \
            at++;                                                                              \
            if (pf && first && p + MBT_PW_PREFETCH_TILES * MR < p1) {                          \
              const size_t q = p + MBT_PW_PREFETCH_TILES * MR;                                 \
              mbt_prefetch_out(e->out + q * ldc + n0, p1 - q < MR ? p1 - q : MR, ldc,       \
                                  (size_t)ncols);                                              \
            }                                                                                  \
            const int mr = pe - p < MR ? (int)(pe - p) : MR;                                   \
            if (nvc >= NV) {                                                                   \
              switch (mr) { CASES(NV) }                                                        \
            } else if (NV > 1 && nvc == 1) {                                                   \
              switch (mr) { CASES(1) }                                                         \
            } else if (NV > 2 && nvc == 2) {                                                   \
              switch (mr) { CASES(2) }                                                         \
            } else if (NV > 3) {                                                               \
              switch (mr) { CASES(3) }                                                         \
            }                                                                                  \
          }                                                                                    \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  }

#endif
