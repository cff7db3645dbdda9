using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// The engine against raw <see cref="AsyncLocal{T}"/> with the same number of live values. The raw baselines run
/// in a process whose ExecutionContext holds <see cref="LiveVariables"/> AsyncLocals; the engine's benchmarks in a
/// process that holds <see cref="LiveVariables"/> context variables (and so one AsyncLocal).
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
public class ContextVarBenchmarks
{
    private AsyncLocal<object?>[] _locals = [];
    private ContextVar<object?>[] _variables = [];
    private AsyncLocal<object?> _local = null!;
    private ContextVar<object?> _variable = null!;
    private Context _context = null!;
    private ExecutionContext _executionContext = null!;
    private readonly object _value = new();
    private bool _flip;

    [Params(1, 16, 64, 256)]
    public int LiveVariables { get; set; }

    [GlobalSetup(Targets = [nameof(AsyncLocal_Read), nameof(AsyncLocal_WriteRestore), nameof(ExecutionContext_Capture), nameof(ExecutionContext_Run), nameof(AsyncLocal_Write)])]
    public void SetUpAsyncLocals()
    {
        _locals = Enumerable.Range(0, LiveVariables).Select(_ => new AsyncLocal<object?>()).ToArray();
        foreach (var local in _locals)
        {
            local.Value = new object();
        }

        _local = _locals[LiveVariables / 2];
        _executionContext = ExecutionContext.Capture()!;
    }

    [GlobalSetup(Targets = [nameof(ContextVar_Get), nameof(ContextVar_SetReset), nameof(Context_CopyCurrent), nameof(Context_Run), nameof(Context_RunFirstTime)])]
    public void SetUpContextVariables()
    {
        _variables = Enumerable.Range(0, LiveVariables).Select(i => new ContextVar<object?>($"v{i}")).ToArray();
        foreach (var variable in _variables)
        {
            variable.Set(new object());
        }

        _variable = _variables[LiveVariables / 2];
        _context = Context.CopyCurrent();
        if (_context.Count != LiveVariables)
        {
            throw new InvalidOperationException("The set-up values did not stay in the benchmark's context.");
        }
    }

    [BenchmarkCategory("Get"), Benchmark(Baseline = true)]
    public object? AsyncLocal_Read() => _local.Value;

    [BenchmarkCategory("Get"), Benchmark]
    public object? ContextVar_Get() => _variable.Get();

    [BenchmarkCategory("SetReset"), Benchmark(Baseline = true)]
    public void AsyncLocal_WriteRestore()
    {
        var old = _local.Value;
        _local.Value = _value;
        _local.Value = old;
    }

    [BenchmarkCategory("SetReset"), Benchmark]
    public void ContextVar_SetReset()
    {
        var token = _variable.Set(_value);
        _variable.Reset(token);
    }

    [BenchmarkCategory("Copy"), Benchmark(Baseline = true)]
    public ExecutionContext? ExecutionContext_Capture() => ExecutionContext.Capture();

    [BenchmarkCategory("Copy"), Benchmark]
    public Context Context_CopyCurrent() => Context.CopyCurrent();

    [BenchmarkCategory("Run"), Benchmark(Baseline = true)]
    public void ExecutionContext_Run() => ExecutionContext.Run(_executionContext, static _ => { }, null);

    /// <summary>One AsyncLocal write (alternating values, so that every write changes the ExecutionContext): the floor of a first run.</summary>
    [BenchmarkCategory("Run"), Benchmark]
    public void AsyncLocal_Write() => _local.Value = (_flip = !_flip) ? _value : null;

    [BenchmarkCategory("Run"), Benchmark]
    public void Context_Run() => _context.Run(static () => { });

    /// <summary>Run of a context never entered before (no cached entry): the worst case.</summary>
    [BenchmarkCategory("Run"), Benchmark]
    public void Context_RunFirstTime() => Context.CopyCurrent().Run(static () => { });
}
