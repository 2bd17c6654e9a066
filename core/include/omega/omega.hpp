#pragma once
// Everything a user of Ultra Omega needs: #include <omega/omega.hpp>.
#include <omega/base/assert.hpp>
#include <omega/base/cache.hpp>
#include <omega/base/clock.hpp>
#include <omega/base/config.hpp>
#include <omega/base/error.hpp>
#include <omega/base/histogram.hpp>
#include <omega/base/metrics.hpp>
#include <omega/base/park.hpp>
#include <omega/base/result.hpp>
#include <omega/base/rng.hpp>
#include <omega/base/spin.hpp>
#include <omega/exec/node.hpp>
#include <omega/exec/queue.hpp>
#include <omega/exec/task.hpp>
