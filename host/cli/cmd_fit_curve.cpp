// modeconn fit-curve: a low-loss Bézier curve or polygonal chain between two minima (Garipov et al. 2018).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/optimizer_options.hpp"
#include "cli/progress.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph_train.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {
namespace {

// Between two layer graphs: BatchNorm in train mode on every minibatch at its t, as Garipov et al. train
// curves; the curve is evaluated with its BatchNorm recomputed.
int fit_graph_curve_command(CommandLine& cl, const TrainOptions& o, PathKind kind, const std::string& a_path,
                            const std::string& b_path, const std::string& out) {
  const GraphPair pair = load_graph_pair(a_path, b_path, cl.get<std::string>("data"));
  GraphPath curve = init_graph_curve(pair.a, pair.b, kind, cl.get<int>("bends"));
  auto backend = cl.backend();
  std::string device;
  auto runner = graph_runner(*backend, cl, &device);
  cl.say("fitting a " + std::string(path_kind_name(kind)) + " curve with " +
         std::to_string(curve.params.points.size() - 2) + " bend(s) between " + a_path + " and " + b_path +
         " (" + describe(pair.a) + ") on " + std::to_string(pair.data.train.rows) + " samples, " + device);
  EpochProgress progress(!cl.common().quiet, "fitting the curve");
  fit_graph_curve(*runner, curve, pair.data.train, o, [&](const EpochReport& r) { progress(r); });
  progress.finish();
  cl.outputs().stage(out, serialize_safetensors(graph_curve_to_tensors(curve, pair.a)));
  cl.outputs().commit();
  std::cout << "wrote " << out << " (evaluate it with modeconn path --kind " << path_kind_name(kind)
            << " --curve " << out << " --bn recompute)\n";
  cl.summary(std::string(path_kind_name(kind)) + " curve between layer graphs fitted for " +
             std::to_string(o.epochs) + " epochs");
  return 0;
}

}  // namespace

int run_fit_curve(const Args& args) {
  CommandLine cl("fit-curve",
                 "modeconn fit-curve --a A --b B --data D [--kind bezier|polychain] [--bends 1] [--epochs N] "
                 "--out C.safetensors");
  cl.options().add_options()("a", po::value<std::string>()->required(),
                             "first endpoint (safetensors), fixed")(
      "b", po::value<std::string>()->required(),
      "second endpoint, fixed (align it first with modeconn align to remove permutations)")(
      "data", po::value<std::string>()->required(),
      "data folder or builtin:fashion-mnist (the curve is fitted on its train split)")(
      "kind", po::value<std::string>()->default_value("bezier"), "bezier or polychain")(
      "bends", po::value<int>()->default_value(1),
      "interior control points, 1 to 64 (1: a quadratic Bézier curve)")(
      "out", po::value<std::string>()->required(), "where to write the curve file")(
      "activation", po::value<std::string>()->default_value(""),
      "activation for files without modeconn metadata (default relu)");
  add_optimizer_options(cl, 10);
  if (!cl.parse(args)) return 0;
  const PathKind kind = with_option("--kind", [&] {
    const PathKind k = parse_path_kind(cl.get<std::string>("kind"));
    if (k == PathKind::linear) throw usage_error("a fitted curve is bezier or polychain, not linear");
    return k;
  });

  const auto a_path = cl.get<std::string>("a"), b_path = cl.get<std::string>("b"),
             out = cl.get<std::string>("out");
  Outputs& outputs = cl.outputs();
  outputs.input(a_path);
  outputs.input(b_path);
  outputs.data_inputs(cl.get<std::string>("data"));
  outputs.output("--out", out);
  outputs.check();
  const TrainOptions o = read_optimizer_options(cl);
  if (graph_inputs(a_path, b_path)) return fit_graph_curve_command(cl, o, kind, a_path, b_path, out);
  const Pair pair = load_pair(a_path, b_path, cl.get<std::string>("activation"), cl.get<std::string>("data"));
  const Model& a = pair.a;
  const Model& b = pair.b;
  const Dataset& data = pair.data;
  Path curve = init_curve(a, b, kind, cl.get<int>("bends"));

  auto backend = cl.backend();
  cl.say("fitting a " + std::string(path_kind_name(curve.kind)) + " curve with " +
         std::to_string(curve.points.size() - 2) + " bend(s) between " + a_path + " and " + b_path + " on " +
         std::to_string(data.train.rows) + " samples");
  EpochProgress progress(!cl.common().quiet, "fitting the curve");
  fit_curve(*backend, curve, data.train, o, [&](const EpochReport& r) { progress(r); });
  progress.finish();
  const auto bytes = serialize_safetensors(curve_to_tensors(curve));
  outputs.stage(out, bytes);
  outputs.commit();
  std::cout << "wrote " << out << " (evaluate it with modeconn path --kind " << path_kind_name(curve.kind)
            << " --curve " << out << ")\n";
  cl.summary(std::string(path_kind_name(curve.kind)) + " curve fitted for " + std::to_string(o.epochs) +
             " epochs");
  return 0;
}

}  // namespace modeconn::cli
