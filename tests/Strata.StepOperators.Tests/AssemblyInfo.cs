// The tests start step processes and CLI processes and watch them; one test at a time keeps two cores responsive.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
