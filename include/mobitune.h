/*
 * mobitune.h -- the one public header of libmobitune: what a program embedding it needs.
 *
 * libmobitune measures a CPU's roofline, models MobileNet networks layer by layer, tunes a
 * kernel variant for every layer and runs inference with the tuned plan.  This header is its
 * API: the machine's identity, networks, weight files, images, the engine (mbt_open is the
 * short way in), running and checking a network, plans, and the tune and roofline entry
 * points (examples/classify.c uses it alone).  Each floor's internals are in its own header
 * in the source tree, which is not installed.  Every call that can fail returns an enum
 * mbt_status; mbt_status_str() turns it into a sentence and mbt_last_error() gives the detail
 * of the last failure on the calling thread.
 */
#ifndef MOBITUNE_H
#define MOBITUNE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MBT_VERSION_MAJOR 0
#define MBT_VERSION_MINOR 1
#define MBT_VERSION_PATCH 0

/** @return the library version as "major.minor.patch". */
const char *mbt_version(void);

/** Status codes returned by every fallible call. */
enum mbt_status {
  MBT_OK = 0,            /**< success */
  MBT_EINVAL,            /**< an argument or option is invalid */
  MBT_ENOMEM,            /**< out of memory, or a size would overflow */
  MBT_EIO,               /**< a file could not be read or written */
  MBT_EPARSE,            /**< a file is corrupt or truncated */
  MBT_EMISMATCH,         /**< a plan or profile belongs to another machine or registry */
  MBT_ENOTFOUND,         /**< a file, variant or entry does not exist */
  MBT_EUNSUPPORTED,      /**< the hardware or build cannot do this */
  MBT_ENOCOUNTERS,       /**< no hardware counters are accessible */
  MBT_EVERIFY,           /**< a result disagrees with the reference */
  MBT_EINTR,             /**< interrupted (what was measured so far is kept) */
  MBT_EBUSY,             /**< another process held the measuring CPUs: nothing was stored */
};

/** @return a sentence describing @p s (never NULL). */
const char *mbt_status_str(enum mbt_status s);
/** @return the detail message of the last error on this thread ("" when none). */
const char *mbt_last_error(void);

/* ------------------------------------------------------------------ machine identity */

#define MBT_MAX_CACHES 8

/** Instruction-set bits: the ISA masks of struct mbt_machine (and the MBT_ISA environment
 * variable's names: "scalar", "sse2", "avx", "avx2", "avx512f", "neon"). */
enum mbt_isa_bits {
  MBT_ISA_SCALAR = 1u << 0,
  MBT_ISA_SSE2 = 1u << 1,
  MBT_ISA_AVX = 1u << 2,
  MBT_ISA_AVX2 = 1u << 3, /**< AVX2 and FMA3 together */
  MBT_ISA_AVX512F = 1u << 4,
  MBT_ISA_NEON = 1u << 5,
};

/** One data or unified cache level. */
struct mbt_cache {
  int level;           /**< 1, 2, 3 ... */
  uint64_t size;       /**< bytes per instance */
  int line;            /**< line size in bytes */
  int assoc;           /**< ways, 0 when unknown */
  int shared_by;       /**< hardware threads sharing one instance */
  int instances;       /**< number of instances in the machine */
};

/** What mobitune knows about the host. */
struct mbt_machine {
  char vendor[32];
  char model[96];
  int family, cpu_model, stepping;
  char features[256];            /**< space-separated ISA features of interest */
  uint32_t isa_cpu;              /**< ISA bits the CPU and OS support */
  uint32_t isa_built;            /**< ISA bits this build has kernels for */
  uint32_t isa;                  /**< usable = cpu & built, capped by MBT_ISA */
  int cores, threads, numa_nodes;
  double mhz;                    /**< nominal clock, 0 when unknown */
  int ncaches;
  struct mbt_cache caches[MBT_MAX_CACHES];
  int counters;                  /**< 1 when PAPI can count hardware events here */
  char counters_note[192];       /**< why not, or which presets */
  char source[96];               /**< which libraries supplied the facts */
  char fingerprint[17];          /**< 64-bit hex digest of identity, ISA mask, caches, cores */
};

/** Detect the host. @return MBT_OK (always fills what it can). */
enum mbt_status mbt_machine_detect(struct mbt_machine *m);
/** Print @p m as text or, when @p json is non-zero, as one JSON object. */
void mbt_machine_print(const struct mbt_machine *m, FILE *out, int json);

/* ------------------------------------------------------------------ networks */

/** The most layers a network may have (V3-Large has 81). */
#define MBT_MAX_LAYERS 128

/** The networks: MobileNet V1, V2, V3-Large and V3-Small (torchvision's layer lists, built from
 * the width multiplier and resolution), and any other network described as data (a layer list
 * read from a network description or a weight file: mbt_model_parse). */
enum mbt_net_kind {
  MBT_NET_V1 = 1,
  MBT_NET_V2 = 2,
  MBT_NET_V3L = 3,
  MBT_NET_V3S = 4,
  MBT_NET_CUSTOM = 5
};

enum mbt_op {
  MBT_OP_CONV = 0,  /**< full KxK convolution (the stem) */
  MBT_OP_DWCONV,    /**< depthwise KxK */
  MBT_OP_PWCONV,    /**< pointwise 1x1 */
  MBT_OP_GAVGPOOL,  /**< global average pool */
  MBT_OP_FC,        /**< fully connected */
  MBT_OP_SCALE,     /**< out = in x gate, per channel: the squeeze-and-excitation product (the
                         gate is layer res's output, 1 x 1 x C) */
  MBT_OP_COUNT
};

/** Epilogue activations: linear, ReLU6 = min(max(x, 0), 6), hard-swish = x relu6(x + 3) / 6,
 * ReLU = max(x, 0), the hard-sigmoid relu6(x + 3) / 6 of V3's squeeze-and-excitation gate,
 * which weight files hold folded (weights / 6, bias / 6 + 1/2) so that it is a clamp to [0, 1],
 * SiLU (swish) = x / (1 + exp(-x)) and the sigmoid 1 / (1 + exp(-x)) of EfficientNet. */
enum mbt_act {
  MBT_ACT_NONE = 0,
  MBT_ACT_RELU6,
  MBT_ACT_HSWISH,
  MBT_ACT_RELU,
  MBT_ACT_HSIGMOID,
  MBT_ACT_SILU,
  MBT_ACT_SIGMOID,
  MBT_ACT_COUNT
};
/** @return "linear", "relu6", "hswish", "relu", "hsigmoid", "silu" or "sigmoid" ("?" for
 * another value). */
const char *mbt_act_name(enum mbt_act a);

/** One layer: shapes (NHWC, batch 1), and the analytic model of MODEL.md. */
struct mbt_layer {
  char name[24];
  enum mbt_op op;
  int ih, iw, ic;        /**< input height, width, channels */
  int oh, ow, oc;        /**< output */
  int k, stride, pad;    /**< kernel size, stride, top/left padding */
  int pad_end;           /**< bottom/right padding: oh = (ih + pad + pad_end - k) / stride + 1 */
  enum mbt_act act;      /**< epilogue after bias */
  int src;               /**< input tensor: -1 = image, else index of the producing layer */
  int res;               /**< tensor added after the epilogue, -2 = none */
  double macs;           /**< multiply-accumulates */
  double params;         /**< weights (bias excluded, as in MODEL.md) */
  double bias;           /**< bias values */
  double bytes;          /**< compulsory fp32 bytes: input + weights + output */
  double intensity;      /**< MACs per compulsory byte */
  int rf;                /**< receptive field of one output pixel, in input pixels */
};

/** A network: a layer table, built from (kind, alpha, resolution) or read from a description. */
struct mbt_model {
  enum mbt_net_kind kind;
  char name[32];         /**< "v1" .. "v3-small", or a described network's own name */
  double alpha;
  int res;
  int nlayers;
  struct mbt_layer *layers;
  double macs, params, bias, bytes;
  int classes;           /**< outputs of the classifier (1000 for ImageNet) */
};

/** Build the layer table with 1000 classes: alpha in (0, 1.5], res in [32, 1024], else
 * MBT_EINVAL.  Free with mbt_model_free(). */
enum mbt_status mbt_model_build(enum mbt_net_kind kind, double alpha, int res,
                                struct mbt_model *out);
/** The same with @p classes outputs (1 to 100000). */
enum mbt_status mbt_model_build_ex(enum mbt_net_kind kind, double alpha, int res, int classes,
                                   struct mbt_model *out);
void mbt_model_free(struct mbt_model *m);
/** @return "conv", "dwconv", "pwconv", "gavgpool", "fc" or "scale" ("?" for another value). */
const char *mbt_op_name(enum mbt_op op);
/** @return "v1", "v2", "v3-large" or "v3-small" ("?" for another value). */
const char *mbt_net_name(enum mbt_net_kind k);
/** Parse what mbt_net_name() returns. @return MBT_EINVAL on anything else. */
enum mbt_status mbt_net_parse(const char *s, enum mbt_net_kind *k);
/** Print the per-layer table and totals as text or, when @p json is non-zero, as JSON. */
void mbt_model_print(const struct mbt_model *m, FILE *out, int json);
/** The network description of @p m (README.md, "Network descriptions"): one JSON object with
 * its name, input resolution and layer list (op, output channels, kernel, stride, padding,
 * activation, input and residual by layer name).  malloc'd; NULL when out of memory. */
char *mbt_model_describe(const struct mbt_model *m);
/** Build the network that description @p text (@p len bytes) gives into @p out (kind
 * MBT_NET_CUSTOM, alpha 1); @p what names it in errors.  Every field is checked: an unknown op
 * or activation, a layer that reads a later one, shapes that do not chain (a residual or gate of
 * another shape, a classifier on a map), a kernel, stride or padding out of range, sizes that
 * would overflow, a layer nobody reads: MBT_EPARSE naming the layer and the field. */
enum mbt_status mbt_model_parse(const char *text, size_t len, const char *what,
                                struct mbt_model *out);
/** Read a network description file (mbt_model_parse). */
enum mbt_status mbt_model_load(const char *path, struct mbt_model *out);
/** "MobileNet v2 alpha 0.35" for a built-in network, "network NAME" for a described one. */
void mbt_model_title(const struct mbt_model *m, char *buf, size_t n);
/** The name the network goes by in plan keys and file names: its name, and for a described
 * network "-" and 8 hex digits of its description's hash (two networks of one name differ). */
void mbt_model_id(const struct mbt_model *m, char *buf, size_t n);

/* ------------------------------------------------------------------ weight files */

/** The weight file format version this build reads and writes (README.md, "Weight files"). */
#define MBT_WEIGHTS_VERSION 2

/** One tensor of a weight file: little-endian fp32, row-major in the shape's order. */
struct mbt_tensor {
  char name[48];      /**< "<layer>.weight" or "<layer>.bias" */
  int ndim;
  int shape[4];
  size_t count;       /**< product of the shape */
  const float *data;  /**< into the file's read-only mapping */
};

/** A loaded weight file: the network it is for, the input normalization, the tensors. */
struct mbt_weights {
  enum mbt_net_kind kind;
  char *desc;            /**< a described network's description (MBT_NET_CUSTOM; else NULL) */
  size_t desc_len;
  int preprocess;        /**< enum mbt_preprocess the model expects (0: not recorded) */
  int resize;            /**< torchvision's Resize(S) it expects (0: round(res / 0.875)) */
  double alpha;
  int res, classes;
  float mean[3], std[3]; /**< per RGB channel, on pixel values scaled to [0, 1] */
  int ntensors;
  struct mbt_tensor *t;
  void *map;
  size_t map_len;
};

/** Map and check a weight file; free with mbt_weights_free().  @return MBT_ENOTFOUND,
 * MBT_EIO (unreadable, not a regular file, cannot be mapped), MBT_EPARSE (names the field or
 * tensor: truncated, bad magic or version, checksum, shapes, sizes that would overflow),
 * MBT_EUNSUPPORTED (a big-endian host, a file too large to map here), MBT_OK. */
enum mbt_status mbt_weights_load(const char *path, struct mbt_weights *w);
void mbt_weights_free(struct mbt_weights *w);
/** Build the network the file describes. */
enum mbt_status mbt_weights_model(const struct mbt_weights *w, struct mbt_model *m);
/** Check that @p w has every tensor of @p m with the right shape (the error names the first
 * that is missing or wrong). */
enum mbt_status mbt_weights_check(const struct mbt_weights *w, const struct mbt_model *m);

/* ------------------------------------------------------------------ input images */

/** A decoded image: 8-bit RGB, rows top to bottom. */
struct mbt_image {
  int w, h;
  unsigned char *rgb;
};
/** Decode a JPEG (libjpeg), PNG (libpng) or binary PPM file; free with mbt_image_free().
 * @return MBT_ENOTFOUND, MBT_EIO (unreadable), MBT_EUNSUPPORTED (another format, or a library
 * this build lacks), MBT_EPARSE (corrupt or truncated, or a size over 32768 per side or 2^28
 * pixels), MBT_ENOMEM, MBT_OK. */
enum mbt_status mbt_image_load(const char *path, struct mbt_image *im);
void mbt_image_free(struct mbt_image *im);
/** How a photo becomes the network's input: as torchvision's evaluation transform (Resize(S)
 * then CenterCrop(res)) or as TF-slim's and Keras' (central crop of 0.875, then a bilinear
 * resize to res). */
enum mbt_preprocess { MBT_PREPROCESS_TORCHVISION = 1, MBT_PREPROCESS_TF = 2 };
/** @return "torchvision" or "tf" ("?" for another value). */
const char *mbt_preprocess_name(enum mbt_preprocess p);
/** The network input for @p im (res x res x 3 floats in @p out, NHWC), pixels x / 255 then
 * (x - mean) / std per channel, after:
 * - MBT_PREPROCESS_TORCHVISION: the shorter side resized to @p resize (S; 0: round(res /
 *   0.875), 256 for 224) and the longer to int(S long / short), with PyTorch's antialiased
 *   bilinear weights on float pixels, then the res x res crop at int(round((size - res) / 2))
 *   (Python's round: halves to even).  Refused when S < res.
 * - MBT_PREPROCESS_TF: tf.image.central_crop(0.875) (start truncated), then
 *   tf.image.resize_bilinear to res x res (align_corners and half-pixel centres off, no
 *   antialiasing; @p resize unused). */
enum mbt_status mbt_image_prepare(const struct mbt_image *im, int res, enum mbt_preprocess kind,
                                  int resize, const float mean[3], const float std[3],
                                  float *out);
/** mbt_image_prepare with torchvision's transform and S = round(res / 0.875). */
enum mbt_status mbt_image_input(const struct mbt_image *im, int res, const float mean[3],
                                const float std[3], float *out);

/* ------------------------------------------------------------------ roofline */

#define MBT_MAX_LEVELS 5  /* L1, L2, L3, L4?, DRAM */
#define MBT_MAX_PEAKS 48   /* compute ceilings: ISA x kernel x thread count */
#define MBT_MAX_SWEEP 40   /* working-set sizes per bandwidth curve */
#define MBT_MAX_CURVES 16  /* bandwidth kernels x thread counts */
#define MBT_MAX_WARNINGS 24 /* profile warnings kept */

/** A measured figure: the best of several repetitions with its spread. */
struct mbt_figure {
  double best, median, min, max; /**< GFLOP/s or GB/s; min is the worst repetition */
  int reps;
  int flagged;                   /**< 1 when the repetitions disagreed beyond the bound, or the
                                      figure could not be made consistent (see adjusted) */
  int disturbed;                 /**< repetitions that ran while another process held one of
                                      the measuring CPUs (they are retaken; > 0 means even the
                                      retakes were disturbed: measured under load) */
  int adjusted;                  /**< 1: it stayed below a figure it must reach (a narrower ISA,
                                      fewer threads, a larger memory level) when measured again,
                                      and was raised to that figure */
  int suspect;                   /**< 1: a timed kernel beat this ceiling beyond the noise; the
                                      next 'roofline' or 'tune' measures it again; 3: measured
                                      again after that; 2: beaten once more after that (the
                                      placement model, not the figure, is then in question) */
};

/** One compute ceiling: an instruction set's peak with one kernel at one thread count. */
struct mbt_peak {
  char isa[12];                  /**< "scalar", "sse", "avx2", "avx512f", "neon" */
  char kernel[12];               /**< "fma", "mul+add" (no FMA unit), "fma+add" (mixed) */
  int threads;
  int chains;                    /**< independent accumulators the kernel used */
  struct mbt_figure gflops;
};

/** The bandwidth kernels (STREAM's, with likwid-bench's names). */
enum mbt_bw_kernel { MBT_BW_READ, MBT_BW_WRITE, MBT_BW_COPY, MBT_BW_TRIAD, MBT_BW_KERNELS };

/** One bandwidth curve: GB/s against the working set per thread. */
struct mbt_curve {
  int kernel;                    /**< enum mbt_bw_kernel */
  int threads;
  int n;
  double ws[MBT_MAX_SWEEP];      /**< bytes per thread, all arrays of the kernel together */
  double best[MBT_MAX_SWEEP];    /**< GB/s, best repetition, all threads together */
  double median[MBT_MAX_SWEEP];  /**< GB/s, median repetition */
  int disturbed[MBT_MAX_SWEEP];  /**< repetitions of the best look measured under load (not
                                      saved: the level figures count them) */
};

struct mbt_bw_level {
  char name[8];                  /**< "L1", "L2", "L3", "DRAM" */
  uint64_t size;                 /**< capacity one thread has alone (bytes; 0 for DRAM) */
  uint64_t size_n;               /**< capacity each thread has when all run (shared caches split) */
  uint64_t ws;                   /**< a working set per thread that lives in this level */
  /** plateau ceilings [kernel][0 = 1 thread, 1 = all threads], GB/s */
  struct mbt_figure bw[MBT_BW_KERNELS][2];
  double edge;                   /**< working set (bytes per thread, 1-thread read) where the
                                      read curve leaves this level's plateau; 0 = not seen */
  int agrees;                    /**< 1 when edge is within 2x of size (hwloc) */
  struct mbt_figure read1, readn; /**< = bw[MBT_BW_READ][0], [1] */
};

/** The machine profile: measured ceilings, saved as versioned JSON. */
struct mbt_profile {
  char fingerprint[17];
  char version[16];
  char date[32];
  int threads;                   /**< "all threads" count used */
  double clock_ghz;              /**< inferred from a dependent integer add chain (0 unknown) */
  double fma_latency;            /**< cycles, measured on the widest SIMD FMA (0 unknown) */
  double clock_os_ghz;           /**< the OS's figure for the clock (cpufreq maximum, else
                                      /proc/cpuinfo; 0 unknown) */
  int clock_flagged;             /**< 1: the clock estimate stayed implausible (its repetitions
                                      disagreed, it fell below the OS's figure, or it made a
                                      ceiling exceed its ISA's FLOP/cycle issue limit) */
  int nwarnings;                 /**< what the measurement could not vouch for, in words */
  char warnings[MBT_MAX_WARNINGS][200];
  int npeaks;
  struct mbt_peak peaks[MBT_MAX_PEAKS];
  int ncurves;
  struct mbt_curve curves[MBT_MAX_CURVES];
  /* Summaries derived from peaks when a profile is measured or loaded: FMA (or mul+add)
   * kernels only. */
  struct mbt_figure peak_scalar1, peak_scalarn;  /**< scalar GFLOP/s, 1 and all threads */
  struct mbt_figure peak_simd1, peak_simdn;      /**< widest SIMD GFLOP/s */
  char simd_isa[16];
  int nlevels;
  struct mbt_bw_level levels[MBT_MAX_LEVELS];
  int counters;
  char counters_note[192];
};

struct mbt_roofline_opts {
  int threads;    /**< 0 = all hardware threads */
  int quick;      /**< 1 = fewer sizes and repetitions (tests) */
  int verbose;    /**< progress lines on stderr */
  int force;      /**< 1 = keep figures measured under load (marked) instead of MBT_EBUSY */
};

/** Measure the ceilings of this machine. */
enum mbt_status mbt_roofline_measure(const struct mbt_machine *m,
                                     const struct mbt_roofline_opts *o, struct mbt_profile *p);
/** Write @p p as JSON (README, "Profile format") at @p path, atomically. */
enum mbt_status mbt_profile_save(const struct mbt_profile *p, const char *path);
/** Read a saved profile and fill its summaries.  @return MBT_ENOTFOUND, MBT_EIO, MBT_EPARSE
 * (names the field: missing, not a number, out of range; @p p is zeroed), MBT_OK. */
enum mbt_status mbt_profile_load(const char *path, struct mbt_profile *p);
/** The ceilings of @p p as text. */
void mbt_profile_print(const struct mbt_profile *p, FILE *out);
/** The profile's warnings, one "warning: ..." line each. */
void mbt_profile_print_warnings(const struct mbt_profile *p, FILE *out);

/** Where a layer sits on the roofline. */
struct mbt_place {
  double flops;       /**< 2 x MACs */
  double intensity;   /**< FLOP per compulsory byte (input, weights, output; fp32) */
  int level;          /**< alone: the level that holds its whole working set */
  double bw;          /**< that level's read bandwidth, GB/s */
  double peak;        /**< compute ceiling at the thread count, GFLOP/s */
  double ridge;       /**< peak / bw, FLOP/byte */
  double attainable;  /**< min(peak, intensity x bw), GFLOP/s */
  int memory_bound;   /**< 1 when intensity < ridge */
  double ridges[MBT_MAX_LEVELS]; /**< the ridge point of every level */
  /* Inside the network: activations come from the level that holds input + output (the
   * previous layer just wrote them); weights from the last-level cache when every layer's
   * weights fit there (repeated inferences keep them), else from DRAM. */
  int net_level;      /**< the level whose traffic takes longest */
  double net_attainable; /**< flops / max(compute time, activation + weight traffic time) */
  int net_memory_bound;
  double net_ns;      /**< max(compute time, traffic time): no kernel runs the layer faster */
};
/** Place layer @p i of @p m on @p p at @p threads threads (1 or the profile's count). */
void mbt_roofline_place(const struct mbt_profile *p, const struct mbt_model *m, int i,
                        int threads, struct mbt_place *out);
/** 1 when layer @p i of @p m is a squeeze-and-excitation scale whose output only the pointwise
 * layer i + 1 reads: that layer can take the gate into its weights, x (s w) = (x s) w, and read
 * the scale's input itself (a "fold/" variant).  Its weights are fewer floats than the
 * activations where HW > C_out (V3's early blocks: 14x14x240 -> 40 scales 47k floats, the
 * weights are 9.6k), so the tuner times the fold against the scale kernels. */
int mbt_layer_foldable(const struct mbt_model *m, int i);
/** Layer @p i (foldable) as the fold's work: layer i + 1's weights read, times the gate,
 * written (its FLOPs and bytes; any other layer as it is). */
void mbt_layer_as_fold(const struct mbt_model *m, int i, struct mbt_layer *out);
/** 1 when variant @p name (NULL: none) is a fold ("fold/..."). */
int mbt_variant_folds(const char *name);
/** mbt_roofline_place of layer @p i as variant @p variant runs it (NULL: as the model says): a
 * foldable scale run by a fold is placed by the fold's work (mbt_layer_as_fold). */
void mbt_place_as_run(const struct mbt_profile *p, const struct mbt_model *m, int i, int threads,
                      const char *variant, struct mbt_place *out);
/** The roofline bound of the whole network: the sum of its layers' net_ns, ns.  No plan runs
 * the network faster on the machine of @p p (to the accuracy of its ceilings). */
double mbt_roofline_net_bound_ns(const struct mbt_profile *p, const struct mbt_model *m,
                                 int threads);

/* ------------------------------------------------------------------ tuning and plans */

/** Tuning effort, as FFTW's planner flags: estimate runs nothing (static rank, roofline time);
 * measure times the candidates that survive a quick isolated screen in the network; patient
 * times every candidate (no screen) with more passes; exhaustive also tries more fusion strip
 * heights.  A plan entry made at one effort is reused at the same or a lower one. */
enum mbt_effort { MBT_ESTIMATE = 0, MBT_MEASURE = 1, MBT_PATIENT = 2, MBT_EXHAUSTIVE = 3 };
/** Parse "estimate", "measure", "patient" or "exhaustive". @return MBT_EINVAL on anything else. */
enum mbt_status mbt_effort_parse(const char *s, enum mbt_effort *e);
/** @return the name mbt_effort_parse() reads for @p e. */
const char *mbt_effort_name(enum mbt_effort e);

/** Hardware events a plan records per candidate (as many as the counter component reads). */
#define MBT_PLAN_EVENTS 4
/** Candidates a plan records per problem. */
#define MBT_MAX_CANDS 32

/** Why a candidate was not timed to the end (mbt_cand.out). */
enum mbt_cand_out {
  MBT_CAND_TIMED = 0,    /**< timed in every pass */
  MBT_CAND_LIMIT = 1,    /**< over the per-candidate time limit in the warm-up pass */
  MBT_CAND_SCREEN = 2,   /**< more than the screen factor slower than the fastest alone */
  MBT_CAND_ROOFLINE = 3, /**< its roofline bound (ISA peak, L1 bandwidth) cannot beat the best */
};

/** One candidate tried for a problem: what the report shows as the reason for a choice. */
struct mbt_cand {
  char variant[96];   /**< variant name, or "unfused" / "fused[rows=N]" for a pair or block */
  double ns;          /**< median time in the network, ns (0 = not timed there) */
  double spread;      /**< (max - min) / median over the passes */
  double alone_ns;    /**< time alone in the isolated screen, ns (0 = not screened) */
  double bound_ns;    /**< roofline lower bound, ns (0 = no profile) */
  int out;            /**< enum mbt_cand_out */
  long long counts[MBT_PLAN_EVENTS]; /**< per run, median over the passes (choice.events) */
};

/** One layer's choice in a plan. */
struct mbt_choice {
  char key[96];       /**< the problem key, e.g. "dwconv h=112 w=112 c=32 k=3 s=1 act=relu6" */
  char variant[96];   /**< the registered variant name */
  double ns;          /**< median time, ns */
  double spread;      /**< (max - min) / median over the repetitions */
  double ref_ns;      /**< median time of the reference variant, ns (0 = not measured) */
  char runner_up[96];
  double runner_up_ns;
  int tie;            /**< 1: the runner-up was within the noise, so the simpler one was kept */
  int effort;         /**< enum mbt_effort it was made at */
  int cold;           /**< 1: timed with cold caches (tune --cold) */
  int busy;           /**< 1: measured while the machine was busy (tune --force under load) */
  int fallback;       /**< 1: the tuned choice ran slower than the default end to end, so the
                           default choice was put back (the check after a tune) */
  int threads;        /**< 0: the layer (or fused group) is split over every thread of the key's
                           count; N > 0: it runs on N of them (fewer ran faster when tuned) */
  int nevents;        /**< hardware events counted around each candidate (0 = clock only) */
  char events[MBT_PLAN_EVENTS][48]; /**< their PAPI names */
  int ncand;          /**< candidates recorded (0 in plans from before they were kept) */
  struct mbt_cand cand[MBT_MAX_CANDS];
};

/** What the check at the end of a tune found (mbt_check.outcome). */
enum mbt_check_out {
  MBT_CHECK_FASTER = 0,  /**< the tuned plan is at least as fast as the default and best fixed */
  MBT_CHECK_FALLBACK = 1,/**< some choices ran slower than the fastest untuned plan's: put back */
  MBT_CHECK_SLOWER = 2,  /**< still slower than an untuned plan after the fallback (noise, load) */
};
#define MBT_MAX_CHECKS 32

/** The check at the end of a tune: the tuned plan, the default plan and the best fixed ISA
 * family timed end to end, interleaved, on one network at one thread count. */
struct mbt_check {
  char key[96];       /**< the network and thread count: "net v1 alpha=1 res=224 t=2" */
  double tuned_ns, default_ns, fixed_ns; /**< medians over the rounds */
  char fixed[16];     /**< the fastest fixed family ("avx512f", "avx2", ...) */
  double spread;      /**< the tuned plan's (p75 - p25) / median over the rounds */
  int rounds;
  int fallbacks;      /**< choices put back to the default */
  int busy_passes, passes; /**< tuning passes that ran disturbed (after retries), of all */
  int outcome;        /**< enum mbt_check_out */
  int busy;           /**< 1: the tune was forced on a busy machine */
  int retaken;        /**< timed runs taken again: another process held a CPU of the team */
  int disturbed;      /**< timed runs kept although disturbed (the retakes ran out) */
};

/** A plan: per-problem choices keyed by the machine fingerprint (FFTW's wisdom). */
struct mbt_plan {
  char fingerprint[17];
  char registry[17];
  int n, cap;
  struct mbt_choice *v;          /**< the choices v[0..n), one per problem key */
  int nchecks;
  struct mbt_check checks[MBT_MAX_CHECKS]; /**< the checks after a tune, one per key */
};

/** An empty plan for machine @p m (NULL: none named) and this build's kernel registry. */
void mbt_plan_init(struct mbt_plan *pl, const struct mbt_machine *m);
void mbt_plan_free(struct mbt_plan *pl);
/** Write atomically (temporary file, then rename); @p m describes the machine in the header. */
enum mbt_status mbt_plan_save(const struct mbt_plan *pl, const struct mbt_machine *m,
                              const char *path);
/**
 * Save @p pl into the store at @p path, safely when several tuners share it: under an
 * exclusive lock on "<path>.lock", the store is read again and its entries kept unless @p pl
 * has the same key (then @p pl's entry wins; with @p faster, the one with the lower median
 * time wins), and the union is written atomically.  A store that cannot be read (corrupt,
 * another machine) is not merged: the caller decides whether to overwrite it.
 */
enum mbt_status mbt_plan_store(const struct mbt_plan *pl, const struct mbt_machine *m,
                               const char *path, int faster);
/**
 * Load a plan.  @return MBT_ENOTFOUND (no file), MBT_EPARSE (corrupt or truncated),
 * MBT_EMISMATCH (another machine or kernel registry; @p pl is left empty); the detail says why.
 * With @p m NULL, a plan of any machine and registry loads (to show it, as the report does).
 */
enum mbt_status mbt_plan_load(const char *path, const struct mbt_machine *m, struct mbt_plan *pl);

/** Ask a running mbt_tune to stop (async-signal-safe: a SIGINT handler may call it); it keeps
 * every measurement complete so far, saves them and returns MBT_EINTR. */
void mbt_tune_interrupt(void);

struct mbt_tune_opts {
  int redo;        /**< 1 = measure again even when the plan has the layer */
  int verbose;     /**< one progress line per layer on stderr */
  double min_ms;   /**< unused (the tuner times inside the network; kept for callers) */
  int reps;        /**< interleaved passes over the candidates (0: 7, at patient 11, at
                        exhaustive 15) */
  const char *save_path; /**< when set, the plan is saved there when tuning ends */
  int quick;       /**< 1 = skip timing the reference kernels (tests) */
  int threads;     /**< tune for this many threads (0 or 1 = one; keys get " t=N") */
  int effort;      /**< enum mbt_effort: set it, as 0 is MBT_ESTIMATE (a value out of range
                        is MBT_MEASURE) */
  double budget_s; /**< stop measuring after about this many seconds (0 = no limit); what
                        is decided is kept, and a later tune goes on from there */
  const struct mbt_profile *profile; /**< the roofline, for MBT_ESTIMATE (required there) */
  int cold;        /**< 1 = before every timed network run, stream a buffer of twice the
                        last-level cache so that weights and activations start in DRAM (a
                        first inference); 0 = the in-network, warm condition (default) */
  int force;       /**< 1 = keep choices measured on a busy machine (marked busy) rather than
                        refuse with MBT_EBUSY */
  int check;       /**< rounds of the end-to-end check after tuning (0 = 15; -1 = none) */
};

/**
 * The check after a tune: the plan @p pl, the default plan and every fixed SIMD family run the
 * network @p rounds times each, round-robin, on @p threads threads.  Where the tuned plan is
 * slower than the default beyond the noise, the problems whose layers ran slower get the
 * default choice back in @p pl (marked fallback) and the plans are timed again.  @p out gets the
 * figures and the outcome (mbt_tune keeps its own check in the plan; this call does not).
 */
enum mbt_status mbt_tune_check(const struct mbt_model *m, struct mbt_plan *pl, int threads,
                               int rounds, int verbose, struct mbt_check *out);

/** One line saying what a check found. */
void mbt_check_print(const struct mbt_check *c, FILE *out);

/** Tune every distinct layer, fusable pair and block of @p model into @p pl, measuring only
 * what the plan lacks at the effort asked; then, unless o->check is -1, check the tuned plan
 * end to end (mbt_tune_check) and keep the outcome in @p pl.  One tuning per process at a
 * time. */
enum mbt_status mbt_tune(const struct mbt_machine *m, const struct mbt_model *model,
                         const struct mbt_tune_opts *o, struct mbt_plan *pl);

/* ------------------------------------------------------------------ inference */

typedef struct mbt_engine *mbt_engine_t;

/**
 * Make an engine for @p model with seeded random weights (BN folded into weights and bias).
 * @p pl may be NULL (default plan: the fastest variant by static preference); its one-thread
 * entries are used (mbt_engine_apply_plan() for others), and a malformed fusion entry fails
 * the call (MBT_EPARSE).  With @p force, a layer where a variant's name contains it runs that
 * variant ("ref" gives the reference path) and nothing is fused.
 */
enum mbt_status mbt_engine_create(const struct mbt_model *model, const struct mbt_plan *pl,
                                  const char *force, uint64_t seed, mbt_engine_t *out);
void mbt_engine_destroy(mbt_engine_t e);
/** Replace the engine's weights with those of @p w (checked against its network first). */
enum mbt_status mbt_engine_set_weights(mbt_engine_t e, const struct mbt_weights *w);
/** Write the engine's weights as a weight file with input normalization @p mean, @p std,
 * atomically. */
enum mbt_status mbt_engine_save(mbt_engine_t e, const float mean[3], const float std[3],
                                const char *path);
/** Run once on @p input (res x res x 3 floats, NHWC). @return MBT_OK. */
enum mbt_status mbt_engine_run(mbt_engine_t e, const float *input);
/** @return the class probabilities (softmax of the logits), length classes. */
const float *mbt_engine_output(mbt_engine_t e, int *classes);
/** @return the time layer @p i took in the last mbt_engine_run(), ns (0 for a bad index).  A
 * fused group's time is its first layer's.  Under the flow schedule on several threads layers
 * overlap: this is then the span from the first of its work items starting to the last one
 * ending, and the spans of neighbouring layers overlap. */
double mbt_engine_layer_ns(mbt_engine_t e, int i);
/** @return the layer whose weights layer @p i fetches ahead while it computes in the next run
 * (-1: none, or a bad index; MBT_NO_AHEAD=1 turns every one off). */
int mbt_engine_ahead(mbt_engine_t e, int i);
/** @return the name of the variant chosen for layer @p i (NULL for a bad index). */
const char *mbt_engine_variant(mbt_engine_t e, int i);
/** Use @p threads threads per layer (1 = the calling thread only): each layer's rows, and its
 * output channels where its variant can split them, are shared among them. */
void mbt_engine_set_threads(mbt_engine_t e, int threads);
/** How several threads share the network. */
enum mbt_schedule {
  /** The default: each run takes the schedule (layers or flow) whose last 4 timed runs here
   * had the lower median time, and every 16th run tries the other (twice: the first run after
   * a switch is not timed), so a change of load is noticed: on a quiet machine the layer
   * schedule, beside a busy co-tenant the flow schedule.  Two layer-schedule runs in a row
   * 1.5x slower than the ones before (a thread losing its core again and again) put the next
   * 32 runs on the flow schedule. */
  MBT_SCHEDULE_AUTO = 0,
  /** One layer (or fused group) at a time, each split into equal static shares, a barrier after
   * each (the per-layer times are then each layer's alone). */
  MBT_SCHEDULE_LAYERS,
  /** Every layer (or fused group) cut into row strips and channel parts, each started as soon
   * as the rows it reads are written, by whichever thread is free; no barrier between layers,
   * every tensor in a buffer of its own, and a backup copy of an item that a thread taken off
   * its core holds (README.md, "Threads"). */
  MBT_SCHEDULE_FLOW
};
/** Use schedule @p s from the next run on (one thread runs the layers in order either way). */
void mbt_engine_set_schedule(mbt_engine_t e, enum mbt_schedule s);
/** @return how many runs since the engine's setup last changed took schedule @p s (layers or
 * flow; one thread counts as layers). */
long mbt_engine_schedule_runs(mbt_engine_t e, enum mbt_schedule s);
/**
 * Choose every layer's variant and fusion again from @p pl for the engine's current thread
 * count (entries tuned at that count win over one-thread entries).  Call after
 * mbt_engine_set_threads() when the plan was tuned for several thread counts.
 */
enum mbt_status mbt_engine_apply_plan(mbt_engine_t e, const struct mbt_plan *pl);
/** @return the logits of the last layer (before the softmax), length classes. */
const float *mbt_engine_logits(mbt_engine_t e);
/** Fill @p input with the engine's seeded test image. */
void mbt_engine_fill_input(mbt_engine_t e, float *input, uint64_t seed);

/** @return the network the engine runs (layer names, shapes, classes). */
const struct mbt_model *mbt_engine_model(mbt_engine_t e);
/** The input normalization of the engine's weights (ImageNet's for seeded weights). */
void mbt_engine_normalization(mbt_engine_t e, float mean[3], float std[3]);

/**
 * Open a converted model for inference in one call: the weight file @p weights (from
 * scripts/onnx2mobitune), the plan store @p plan (NULL: the default plan; otherwise it must load
 * and match this machine and build, or the call fails saying why), @p threads threads.  The
 * engine keeps copies: the files may change afterwards.  Engines are independent: several may
 * run at once on different threads (mbt_tune may not: one tuning per process at a time).
 * Free with mbt_engine_destroy().  The input of mbt_engine_run() is res x res x 3 floats
 * (NHWC), normalized as the weight file says (mbt_image_input() makes it from a photo).
 */
enum mbt_status mbt_open(const char *weights, const char *plan, int threads, mbt_engine_t *out);

/* ------------------------------------------------------------------ running a network */

/** The ImageNet input normalization (per RGB channel, on pixel values scaled to [0, 1]): that of
 * seeded weights, and what weight files made from ImageNet models usually hold. */
extern const float mbt_imagenet_mean[3], mbt_imagenet_std[3];

/** The latency of timed runs, ms. */
struct mbt_run_stats {
  double median, min, p90;
};
/** Run once to warm up, then time @p runs runs of @p batch inputs each (@p in: the inputs one
 * after another, res x res x 3 floats each) on the monotonic clock.  @p s gets the median, min
 * and p90 of a run; @p layer_ms, when given, each layer's median time inside the network. */
enum mbt_status mbt_run_timed(mbt_engine_t e, const float *in, int batch, int runs,
                              struct mbt_run_stats *s, double *layer_ms);
/** Run each of the @p batch inputs of @p in once more; @p logits gets theirs, batch x classes. */
enum mbt_status mbt_run_logits(mbt_engine_t e, const float *in, int batch, float *logits);
/** The indices of the @p k largest of @p p[0..n), largest first (at a tie the lower index);
 * -1 past the n-th. */
void mbt_topk(const float *p, int n, int k, int *top);

/** How far a run's logits are from the reference path's (mbt_verify). */
struct mbt_verify {
  double max_abs_err;  /**< max |logit - reference| over every input */
  double tolerance;    /**< 1e-5 + 1e-4 x the largest reference logit */
  int top1_agrees;     /**< 1 when every input's top class is the reference's */
};
/** Run the @p batch inputs of @p in on the reference kernels (network @p m, weights @p w or, when
 * NULL, those of @p seed) and compare with @p logits (batch x classes).  @return MBT_OK,
 * MBT_EVERIFY (beyond the tolerance or another top class; @p out filled either way), or the
 * error of making the reference engine. */
enum mbt_status mbt_verify(const struct mbt_model *m, const struct mbt_weights *w, uint64_t seed,
                           const float *in, const float *logits, int batch,
                           struct mbt_verify *out);

/** Read a raw input tensor: exactly @p n little-endian float32 values, each finite.
 * @return MBT_EPARSE ("PATH: ..." says what: the size or the first value that is not finite),
 * or the error of reading the file. */
enum mbt_status mbt_input_load(const char *path, float *in, size_t n);

/** The most bytes a label file may have. */
#define MBT_LABELS_MAX ((size_t)64 << 20)
/** Class names, one a line. */
struct mbt_labels {
  int n;               /**< one per class */
  const char **name;   /**< name[i]: class i's (a trailing CR removed) */
  char *text;          /**< the file's text, which the names point into */
};
/** Read @p path: exactly @p classes lines, no NUL byte.  @return MBT_EPARSE ("PATH: ..."), or
 * the error of reading the file. */
enum mbt_status mbt_labels_load(const char *path, int classes, struct mbt_labels *lab);
void mbt_labels_free(struct mbt_labels *lab);

#ifdef __cplusplus
}
#endif
#endif /* MOBITUNE_H */
