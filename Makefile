# What contributors and CI run. The logic lives in scripts; recipes stay short.
#
#   make test             everything, on a fresh Debian or Ubuntu machine as root
#   make tools            install what the tests need (apt-get, as root)
#   make validate DIR=d   check a folder of rendered artifacts with the real validators
#   make golden           refresh golden/ from examples/
#   make install          deployc, its manual page and shell completions under PREFIX
#   make bench            whole-process benchmarks (benches/run)
#   make test-hosts       end-to-end tests on a real systemd and Docker (tests/hosts/run), as root

PREFIX ?= /usr/local
# The highest systemd-analyze security exposure a rendered unit may have.
MAX_EXPOSURE ?= 2.0
VALIDATOR := tests/validators/check-artifacts

.PHONY: test tools validate golden install bench test-hosts

# Plain `cargo test` leaves out the tests that need root-installed tools (each
# says which); here they run, and a missing tool fails them.
test: tools
	cargo fmt --check
	cargo clippy --all-targets --locked -- -D warnings
	cargo test --locked -- --include-ignored
	status=0; for dir in golden/*/; do $(VALIDATOR) --max-exposure $(MAX_EXPOSURE) "$$dir" || status=1; done; exit $$status
	cargo run -q --locked -- diff examples/*.kdl -o golden --stat

tools:
	scripts/install-tools

validate:
	@test -n "$(DIR)" || { echo 'usage: make validate DIR=folder-of-artifacts' >&2; exit 2; }
	$(VALIDATOR) --max-exposure $(MAX_EXPOSURE) "$(DIR)"

golden:
	cargo run -q --locked -- render examples/*.kdl -o golden

install:
	cargo install --locked --path . --root "$(PREFIX)"
	install -d "$(PREFIX)/share/man/man1" "$(PREFIX)/share/bash-completion/completions" \
		"$(PREFIX)/share/zsh/site-functions" "$(PREFIX)/share/fish/vendor_completions.d"
	"$(PREFIX)/bin/deployc" man > "$(PREFIX)/share/man/man1/deployc.1"
	"$(PREFIX)/bin/deployc" completions bash > "$(PREFIX)/share/bash-completion/completions/deployc"
	"$(PREFIX)/bin/deployc" completions zsh > "$(PREFIX)/share/zsh/site-functions/_deployc"
	"$(PREFIX)/bin/deployc" completions fish > "$(PREFIX)/share/fish/vendor_completions.d/deployc.fish"

bench:
	benches/run

# End-to-end tests under a real systemd and Docker engine (tests/hosts/README.md).
# They need root and the machine's only dockerd, so `make test` does not run them,
# and runs are serialized: others may run the suite on the same machine.
test-hosts:
	flock /run/deployc-hosts.lock tests/hosts/run
