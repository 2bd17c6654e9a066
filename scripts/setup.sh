#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and demo Ultra Omega.
# Idempotent: packages already present are not fetched again; npm installs from the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  cmake ninja-build g++ clang        # native toolchain
  libclang-rt-14-dev                 # clang's libFuzzer/sanitizer runtimes (only recommended by clang-14)
  emscripten                         # WASM toolchain (Debian's emscripten 3.1.6; brings Node)
  libhwy-dev                         # Google Highway: SIMD for histogram scans
  libexpected-dev                    # tl::expected: base of omega::Result
  nlohmann-json3-dev                 # JSON rendering of metrics snapshots
  catch2                             # Catch2 v2 tests
  libtbb-dev libboost-dev            # benchmark peers: oneTBB task_group, Boost.Asio thread_pool
  libconcurrentqueue-dev             # benchmark peer: moodycamel::BlockingConcurrentQueue
  libreaderwriterqueue-dev           # benchmark peer: moodycamel::ReaderWriterQueue (SPSC, vs actor channels)
  libcaf-dev                         # benchmark peer: the C++ Actor Framework 0.17 (the seed pipeline in CAF)
  prometheus                         # promtool: omega-pipeline's Prometheus text is checked by the real parser
  chromium                           # headless browser tests (driven by playwright-core)
  libwslay-dev nettle-dev pkg-config # omega-gateway: WebSocket framing; SHA-1/base64 for the handshake
  python3-websockets                 # omega-gateway's end-to-end tests (a real WebSocket client)
  iproute2                           # ip netns / veth pairs: omega-harness and the OVP namespace tests
  curl                               # fetches Nettle's source for the WASM builds (below)
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from another packaging of Node (whose nodejs conflicts with
# Debian's npm); install Debian's only where the commands are absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# GNU Nettle for WASM: the same 3.8.1 release as Debian's nettle-dev, from Debian's source
# tarball (pinned by hash), unpacked into build/deps/ (ignored); the WASM presets compile the
# few files HMAC-SHA256 needs (cmake/OmegaDependencies.cmake).
nettle_dir=build/deps/nettle-3.8.1
nettle_tar=build/deps/nettle_3.8.1.orig.tar.gz
nettle_sha=364f3e2b77cd7dcde83fd7c45219c834e54b0c75e428b6f894a23d12dd41cbfe
if [ ! -f "$nettle_dir/hmac-sha256.c" ]; then
  mkdir -p build/deps
  if [ ! -f "$nettle_tar" ] || ! echo "$nettle_sha  $nettle_tar" | sha256sum -c --status; then
    echo "setup: downloading nettle 3.8.1 source"
    curl -fsSL -o "$nettle_tar.part" http://deb.debian.org/debian/pool/main/n/nettle/nettle_3.8.1.orig.tar.gz
    mv "$nettle_tar.part" "$nettle_tar"
  fi
  if ! echo "$nettle_sha  $nettle_tar" | sha256sum -c --status; then
    echo "setup: $nettle_tar does not have the expected sha256 $nettle_sha" >&2
    rm -f "$nettle_tar"
    exit 1
  fi
  tar -C build/deps -xzf "$nettle_tar"
fi

# playwright-core drives /usr/bin/chromium; it never downloads a browser of its own.
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
echo "setup: ok"
