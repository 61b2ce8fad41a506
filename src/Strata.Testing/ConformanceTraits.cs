namespace Strata.Testing;

/// <summary>The trait every conformance case carries, so a run can pick them out: <c>dotnet test --filter Category=Conformance</c>.</summary>
public static class ConformanceTraits
{
    public const string Category = "Category";

    public const string Conformance = "Conformance";
}
