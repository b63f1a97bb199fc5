/* lrlab: low-rank lab, a framework for checking the theory of neural-network
 * compression numerically.  The umbrella header of the library's public parts. */
#ifndef LRLAB_H
#define LRLAB_H

#include "bounds/bounds.h"
#include "compress/compress.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "core/rng.h"
#include "core/stats.h"
#include "gen/gen.h"
#include "io/config.h"
#include "io/h5.h"
#include "io/results.h"
#include "run/run.h"
#include "run/table.h"

#endif
