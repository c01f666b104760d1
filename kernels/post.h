/* kernels/post.h -- the epilogue functions after the clamp (enum mbt_post), as a template over
 * one instruction set's vector type: hard-swish v relu6(v + 3) / 6, SiLU v / (1 + exp(-v)) and
 * the sigmoid 1 / (1 + exp(-v)).  Before including it, define
 *   POST_NAME        the function's name
 *   POST_V           the vector type
 *   POST_SET1(x) POST_ADD(a, b) POST_SUB(a, b) POST_MUL(a, b) POST_DIV(a, b) POST_FMA(a, b, c)
 *   POST_MIN(a, b) POST_MAX(a, b)
 *   POST_ROUND(a)    to the nearest integer, as floats
 *   POST_POW2(n)     2^n for integral n in [-126, 127], built in the exponent bits
 * exp is Cephes' expf: n = round(x log2 e), r = x - n ln 2 (in two parts), a degree-6
 * polynomial in r, times 2^n; relative error about 2e-7 over [-87.3, 88.3], where x is
 * clamped, so 1 + exp(-v) never overflows and the sigmoid goes to 0 and 1 smoothly. */
#define POST_CAT(a, b) a##b
#define POST_XCAT(a, b) POST_CAT(a, b)
#define POST_EXP POST_XCAT(POST_NAME, _exp)
/* SiLU or the sigmoid of @p v: out of line, so that the constants of exp stay out of the
 * micro-kernels' register allocation (inlined, they made the pointwise tiles 4% slower even
 * where no layer uses them). */
static __attribute__((noinline, unused)) POST_V POST_EXP(POST_V v, int post);
static inline __attribute__((always_inline)) POST_V POST_NAME(POST_V v, int post) {
  if (post == MBT_POST_HSWISH) {
    const POST_V r = POST_MIN(POST_MAX(POST_ADD(v, POST_SET1(3.0f)), POST_SET1(0.0f)), POST_SET1(6.0f));
    return POST_MUL(v, POST_MUL(r, POST_SET1(1.0f / 6.0f)));
  }
  return post == MBT_POST_SILU || post == MBT_POST_SIGMOID ? POST_EXP(v, post) : v;
}
static POST_V POST_EXP(POST_V v, int post) {
  const POST_V x = POST_MIN(POST_MAX(POST_SUB(POST_SET1(0.0f), v), POST_SET1(-87.3f)), POST_SET1(88.3f));
  const POST_V n = POST_ROUND(POST_MUL(x, POST_SET1(1.44269504088896341f)));
  POST_V r = POST_FMA(n, POST_SET1(-0.693359375f), x);
  r = POST_FMA(n, POST_SET1(2.12194440e-4f), r);
  POST_V p = POST_SET1(1.9875691500e-4f);
  p = POST_FMA(p, r, POST_SET1(1.3981999507e-3f));
  p = POST_FMA(p, r, POST_SET1(8.3334519073e-3f));
  p = POST_FMA(p, r, POST_SET1(4.1665795894e-2f));
  p = POST_FMA(p, r, POST_SET1(1.6666665459e-1f));
  p = POST_FMA(p, r, POST_SET1(5.0000001201e-1f));
  p = POST_FMA(POST_MUL(p, r), r, POST_ADD(r, POST_SET1(1.0f)));
  const POST_V d = POST_FMA(p, POST_POW2(n), POST_SET1(1.0f)); /* 1 + exp(-v) */
  return post == MBT_POST_SILU ? POST_DIV(v, d) : POST_DIV(POST_SET1(1.0f), d);
}
#undef POST_EXP
#undef POST_XCAT
#undef POST_CAT
#undef POST_NAME
#undef POST_V
#undef POST_SET1
#undef POST_ADD
#undef POST_SUB
#undef POST_MUL
#undef POST_DIV
#undef POST_FMA
#undef POST_MIN
#undef POST_MAX
#undef POST_ROUND
#undef POST_POW2
