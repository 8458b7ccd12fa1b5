"""Events pushed to a registrant's endpoint (decision 0010): the endpoint
Party A sets, the signed deliveries and their retries, the delivery log.

``records`` holds plain values only (the store maps to and from them);
``service.deliveries()`` builds the use cases."""
