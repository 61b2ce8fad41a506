using Strata.Emulators.Jobs;

namespace Strata.Emulators.Kubernetes.Tests;

/// <summary>The dice every emulator's injected faults come from.</summary>
public sealed class FaultDiceTests
{
    [Fact]
    public void A_seed_repeats_the_faults_and_the_rates_decide_their_kind()
    {
        InjectedFault[] Rolls(FaultDice dice) => Enumerable.Range(0, 200).Select(_ => dice.Roll(0.3, 0.2)).ToArray();
        var first = Rolls(new FaultDice(7));
        Assert.Equal(first, Rolls(new FaultDice(7)));
        // Both kinds and served requests all come up, in about the shares asked for.
        Assert.InRange(first.Count(f => f == InjectedFault.Throttle), 35, 85);
        Assert.InRange(first.Count(f => f == InjectedFault.ServerError), 20, 65);
        Assert.InRange(first.Count(f => f == InjectedFault.None), 65, 135);

        var dice = new FaultDice(null);
        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(InjectedFault.Throttle, dice.Roll(1, 0)));
        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(InjectedFault.ServerError, dice.Roll(0, 1)));
        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(InjectedFault.None, dice.Roll(0, 0)));
    }

    [Fact]
    public void Faults_in_a_row_stop_at_the_limit_for_each_request_apart()
    {
        var dice = new FaultDice(1);
        InjectedFault Get(string request) => dice.Roll(1, 0, request, maxInARow: 2);

        Assert.Equal(InjectedFault.Throttle, Get("GET /a"));
        Assert.Equal(InjectedFault.Throttle, Get("GET /a"));
        // Another request has its own count.
        Assert.Equal(InjectedFault.Throttle, Get("GET /b"));
        Assert.Equal(InjectedFault.None, Get("GET /a"));
        // Served, /a starts again.
        Assert.Equal(InjectedFault.Throttle, Get("GET /a"));
        Assert.Equal(InjectedFault.Throttle, Get("GET /b"));
        Assert.Equal(InjectedFault.None, Get("GET /b"));

        // Without a limit a request is faulted as often as the dice say.
        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal(InjectedFault.Throttle, dice.Roll(1, 0, "GET /c", maxInARow: null)));
    }
}
