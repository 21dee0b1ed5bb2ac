# Sourced by the bench scripts: the one WooCommerce store they post to (`bench`), its Buzzbip
# pointed at a closed port (nothing is sent: the servers run without workers).
# Usage: write_bench_store DIR SECRET   (writes DIR/bench.toml)
write_bench_store() {
  mkdir -p "$1"
  cat > "$1/bench.toml" <<TOML
platform = "woocommerce"
base_uri = "https://shop.bench.test"
default_country = "TN"
[webhook]
secrets = ["$2"]
[buzzbip]
base_url = "http://127.0.0.1:9"
username = "bench@shopbip.test"
password = "bench"
api_key = "bench"
[[notify]]
on = "order.paid"
template_id = 1289
body_params = ["{customer.first_name}", "{order.number}"]
TOML
}
