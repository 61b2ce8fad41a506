using System.ComponentModel;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Strata.Testing;

/// <summary>
/// A conformance case: a <see cref="FactAttribute"/> that a backend which cannot support it reports as skipped, with the
/// reason it states, instead of passing silently. Inside the case, <see cref="ConformanceSkip.Because"/> skips it.
/// </summary>
[XunitTestCaseDiscoverer("Strata.Testing.ConformanceFactDiscoverer", "Strata.Testing")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class ConformanceFactAttribute : FactAttribute;

/// <summary>Skips the running conformance case (one marked <see cref="ConformanceFactAttribute"/>).</summary>
public static class ConformanceSkip
{
    /// <summary>Ends the case here; it is reported skipped with <paramref name="reason"/>.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Because(string reason) => throw new ConformanceSkipException(reason);
}

/// <summary>Thrown by <see cref="ConformanceSkip.Because"/>; a conformance case that throws it is reported skipped.</summary>
public sealed class ConformanceSkipException(string reason) : Exception(reason);

/// <summary>Finds conformance cases for xunit. Plumbing: not for use in code.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ConformanceFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        ArgumentNullException.ThrowIfNull(discoveryOptions);
        yield return new ConformanceTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
            discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
    }
}

/// <summary>A conformance case as xunit runs it: a failure by <see cref="ConformanceSkipException"/> is reported as a skip. Plumbing: not for use in
/// code.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ConformanceTestCase : XunitTestCase
{
    [Obsolete("For deserialization only.")]
    public ConformanceTestCase()
    {
    }

    public ConformanceTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay display, TestMethodDisplayOptions displayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, display, displayOptions, testMethod)
    {
    }

    public override async Task<RunSummary> RunAsync(IMessageSink diagnosticMessageSink, IMessageBus messageBus, object[] constructorArguments,
        ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    {
        using var skipping = new SkippingMessageBus(messageBus);
        var summary = await base.RunAsync(diagnosticMessageSink, skipping, constructorArguments, aggregator, cancellationTokenSource).ConfigureAwait(false);
        summary.Failed -= skipping.Skipped;
        summary.Skipped += skipping.Skipped;
        return summary;
    }

    /// <summary>Passes every message on, a failure by <see cref="ConformanceSkipException"/> as a skip with its reason.</summary>
    private sealed class SkippingMessageBus(IMessageBus inner) : IMessageBus
    {
        public int Skipped { get; private set; }

        public bool QueueMessage(IMessageSinkMessage message)
        {
            if (message is ITestFailed failed && failed.ExceptionTypes.FirstOrDefault() == typeof(ConformanceSkipException).FullName)
            {
                Skipped++;
                return inner.QueueMessage(new TestSkipped(failed.Test, failed.Messages.FirstOrDefault() ?? ""));
            }
            return inner.QueueMessage(message);
        }

        // The inner bus belongs to xunit.
        public void Dispose() { }
    }
}
